// The crawl's state in Redis (--state redis://HOST:PORT --job NAME), against
// a real redis-server started on a free loopback port in a temporary folder
// (persistence off) and stopped afterwards. Without redis-server these tests
// are skipped, with a notice (CI installs it: .ci/run).
import assert from "node:assert/strict";
import { crawl, type CrawlOutput } from "../crawler/crawl.ts";
import { killAndResume } from "./fixtures/kill_resume.ts";
import { haveRedis, NO_REDIS, type RedisServer, startRedis } from "./fixtures/redis_server.ts";
import { serveSyntheticWeb, type SyntheticWeb } from "./fixtures/synthetic_web.ts";

const cli = new URL("../crawler/cli.ts", import.meta.url).pathname;
const config = new URL("../deno.json", import.meta.url).pathname;
const ignore = !haveRedis();
if (ignore) console.log(NO_REDIS);

/** A crawler process, with its stderr as it comes. */
class Crawler {
  readonly process: Deno.ChildProcess;
  stderr = "";
  readonly #waiters = new Set<() => void>();
  readonly #reading: Promise<void>;

  constructor(args: string[]) {
    const process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", config, cli, ...args],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.process = process;
    this.#reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of process.stderr) {
        this.stderr += decoder.decode(chunk, { stream: true });
        for (const wake of this.#waiters) wake();
      }
      for (const wake of this.#waiters) wake();
    })();
  }

  /** Resolves when stderr matches `pattern`; rejects if the process ends first. */
  async waitFor(pattern: RegExp): Promise<void> {
    while (!pattern.test(this.stderr)) {
      const ended = await Promise.race([
        new Promise<false>((resolve) => {
          const wake = () => {
            this.#waiters.delete(wake);
            resolve(false);
          };
          this.#waiters.add(wake);
        }),
        this.process.status.then(() => true),
      ]);
      if (ended) {
        await this.#reading;
        if (!pattern.test(this.stderr)) throw new Error(`ended without ${pattern}: ${this.stderr}`);
      }
    }
  }

  async exit(): Promise<number> {
    const { code } = await this.process.status;
    await this.#reading;
    return code;
  }

  async kill(): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await this.exit();
  }
}

async function withSetup(
  web: { hosts: number; pages: number; robots?: string; delayMs?: number },
  test: (redis: RedisServer, site: SyntheticWeb, dir: string) => Promise<void>,
) {
  const redis = (await startRedis())!;
  const site = serveSyntheticWeb(web);
  const dir = await Deno.makeTempDir({ prefix: "redis-crawl-test-" });
  try {
    await Deno.writeTextFile(`${dir}/urls.txt`, `${site.start}\n`);
    await test(redis, site, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await site.close();
    await redis.close();
  }
}

function crawlArgs(dir: string, redis: RedisServer, out: string, extra: string[] = []): string[] {
  return [
    `${dir}/urls.txt`,
    "--quiet",
    "--depth",
    "1000",
    "--scope",
    "any",
    "--processes",
    "1",
    "--state",
    redis.url,
    "--out",
    `${dir}/${out}`,
    ...extra,
  ];
}

async function recordsIn(dir: string, names: string[]): Promise<string[]> {
  const urls: string[] = [];
  for (const name of names) {
    const text = await Deno.readTextFile(`${dir}/${name}`).catch(() => "");
    assert.ok(text === "" || text.endsWith("\n"), `${name} ends with a whole record`);
    for (const line of text.split("\n")) if (line) urls.push(JSON.parse(line).url);
  }
  return urls;
}

Deno.test({
  name:
    "crawl --state redis://: three processes, killed with -9 and restarted at random ten times: every page once in the union of their outputs, extra fetches within the requests in flight",
  ignore,
  async fn() {
    const redis = (await startRedis())!;
    try {
      const seed = Date.now() % 100_000;
      const report = await killAndResume({
        state: redis.url,
        processes: 3,
        kills: 10,
        hosts: 4,
        pages: 600,
        seed,
        args: ["--job", "kill test"],
      });
      const context = `seed ${seed}, ${report.kills} kills\n${report.stderr.slice(-3000)}`;
      assert.deepEqual(report.exits, [0, 0, 0], context);
      assert.deepEqual(report.broken, [], context);
      const urls = report.records.map((r) => r.url);
      assert.equal(new Set(urls).size, urls.length, `a URL recorded twice; ${context}`);
      assert.deepEqual(new Set(urls), new Set(report.web.urls()), context);
      assert.ok(report.kills >= 5, `only ${report.kills} kills: the crawl ended too soon`);
      assert.ok(
        report.extraFetches <= report.inFlightBound,
        `${report.extraFetches} extra fetches for ${report.kills} kills; ${context}`,
      );
    } finally {
      await redis.close();
    }
  },
});

Deno.test({
  name:
    "crawl --state redis://: --per-host, --delay and Crawl-delay hold across three processes, robots.txt is fetched once per origin, and each summary gives the whole crawl",
  ignore,
  async fn() {
    // --per-host 2 and --delay 100: measured at the server.
    await withSetup({ hosts: 3, pages: 25 }, async (redis, site, dir) => {
      const processes = [0, 1, 2].map((i) =>
        new Crawler(crawlArgs(dir, redis, `out-${i}.jsonl`, ["--per-host", "2", "--delay", "100"]))
      );
      const exits = await Promise.all(processes.map((p) => p.exit()));
      assert.deepEqual(exits, [0, 0, 0], processes.map((p) => p.stderr).join("\n"));
      assert.ok(site.maxActive <= 2, `${site.maxActive} requests at once to one host`);
      // 100 ms between the requests' starts; half of it as a margin for the
      // time between a lease and its request reaching the server.
      assert.ok(site.minGapMs >= 50, `${site.minGapMs.toFixed(1)} ms between two requests`);
      assert.deepEqual([...site.robotsHits.values()], [1, 1, 1]);
      const urls = await recordsIn(dir, ["out-0.jsonl", "out-1.jsonl", "out-2.jsonl"]);
      assert.equal(urls.length, 75);
      // Each summary: this process's pages, then the whole crawl's.
      const own = processes.map((p) => Number(/pages +(\d+)/.exec(p.stderr)![1]));
      assert.equal(own.reduce((a, b) => a + b), 75);
      for (const p of processes) {
        assert.match(p.stderr, /The whole crawl[^]*pages +75 \(ok 75, failed 0\)/);
      }
    });
    // robots.txt's Crawl-delay (0.1 s), one request at a time per host.
    await withSetup(
      { hosts: 2, pages: 15, robots: "User-agent: *\nCrawl-delay: 0.1\n" },
      async (redis, site, dir) => {
        const processes = [0, 1, 2].map((i) =>
          new Crawler(crawlArgs(dir, redis, `out-${i}.jsonl`, ["--per-host", "1"]))
        );
        const exits = await Promise.all(processes.map((p) => p.exit()));
        assert.deepEqual(exits, [0, 0, 0], processes.map((p) => p.stderr).join("\n"));
        assert.equal(site.maxActive, 1);
        assert.ok(site.minGapMs >= 50, `${site.minGapMs.toFixed(1)} ms between two requests`);
        assert.deepEqual([...site.robotsHits.values()], [1, 1]);
      },
    );
  },
});

Deno.test({
  name:
    "crawl --state redis://: Redis stopped mid-crawl: a message, retries, and the crawl goes on when it is back; down longer than --lease: a clear error, exit 1, and the next run resumes with nothing lost",
  ignore,
  async fn() {
    await withSetup({ hosts: 2, pages: 150, delayMs: 5 }, async (redis, site, dir) => {
      const names = ["out.jsonl"];
      // Back within the lease.
      const first = new Crawler(crawlArgs(dir, redis, "out.jsonl", ["--lease", "20000"]));
      await site.reached(40);
      await redis.shutdownSave();
      await first.waitFor(/cannot be reached \(.*\); trying again for up to 20\.0 s \(--lease\)/);
      await redis.restart();
      await first.waitFor(/is back after [\d.]+ s; the crawl goes on/);
      assert.equal(await first.exit(), 0, first.stderr);
      let urls = await recordsIn(dir, names);
      assert.equal(urls.length, 300, first.stderr);
      assert.equal(new Set(urls).size, 300);

      // Down for longer than the lease: exit 1, then resumed.
      await site.close();
      const second = serveSyntheticWeb({ hosts: 2, pages: 150, delayMs: 5 });
      try {
        await Deno.writeTextFile(`${dir}/urls.txt`, `${second.start}\n`);
        const args = crawlArgs(dir, redis, "out2.jsonl", ["--lease", "2000", "--job", "second"]);
        const crawler = new Crawler(args);
        await second.reached(40);
        await redis.shutdownSave();
        assert.equal(await crawler.exit(), 1, crawler.stderr);
        assert.match(crawler.stderr, /cannot be reached/);
        assert.match(
          crawler.stderr,
          /^crawl: lost Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(job "second"\) for [\d.]+ s, longer than --lease \(2000 ms\): .*run the same command again once Redis is back to resume$/m,
        );
        assert.match(crawler.stderr, /Crawl stopped: its state failed/);
        assert.doesNotMatch(crawler.stderr, /^\s+at /m);
        await redis.restart();
        const resumed = new Crawler(args);
        assert.equal(await resumed.exit(), 0, resumed.stderr);
        urls = await recordsIn(dir, ["out2.jsonl"]);
        assert.equal(new Set(urls).size, urls.length, "nothing recorded twice");
        assert.deepEqual(new Set(urls), new Set(second.urls()), "nothing lost");
      } finally {
        await second.close();
      }
    });
  },
});

Deno.test({
  name:
    "crawl --state redis://: one --out per process, --fresh refused while a process runs, odd job names kept apart",
  ignore,
  async fn() {
    await withSetup({ hosts: 1, pages: 200, delayMs: 20 }, async (redis, site, dir) => {
      const job = "a b/c*d?{e}:é";
      const running = new Crawler(crawlArgs(dir, redis, "out.jsonl", ["--job", job]));
      try {
        await site.reached(3);
        const same = new Crawler(crawlArgs(dir, redis, "out.jsonl", ["--job", job]));
        assert.equal(await same.exit(), 2, same.stderr);
        assert.match(
          same.stderr,
          /^crawl: output '.*out\.jsonl' is being written by another process of this crawl \(pid \d+ on .*\); give each process its own --out$/m,
        );
        const fresh = new Crawler(crawlArgs(dir, redis, "other.jsonl", ["--job", job, "--fresh"]));
        assert.equal(await fresh.exit(), 2, fresh.stderr);
        assert.match(
          fresh.stderr,
          /is in use by 1 running process\(es\) \(pid \d+\); stop them before --fresh/,
        );
        // Another job on the same server is another crawl.
        const other = new Crawler(
          crawlArgs(dir, redis, "job2.jsonl", ["--job", "job2", "--max-pages", "5"]),
        );
        assert.equal(await other.exit(), 0, other.stderr);
        assert.equal((await recordsIn(dir, ["job2.jsonl"])).length, 5);
        const keys = await redis.command("KEYS", "*");
        const names = keys.split("\r\n").filter((line) => line.startsWith("dmp-crawl:"));
        assert.ok(names.length > 0);
        assert.ok(
          names.every((key) =>
            key.startsWith("dmp-crawl:{a%20b%2Fc%2Ad%3F%7Be%7D%3A%C3%A9}:") ||
            key.startsWith("dmp-crawl:{job2}:")
          ),
          names.join(" "),
        );
      } finally {
        await running.kill();
      }
      const gone = new Crawler([
        `${dir}/urls.txt`,
        "--state",
        `redis://127.0.0.1:${redis.port}`,
        "--job",
        job,
        "--fresh",
        "--max-pages",
        "1",
        "--out",
        `${dir}/after.jsonl`,
      ]);
      assert.equal(await gone.exit(), 0, gone.stderr);
    });
  },
});

Deno.test({
  name:
    "crawl --state redis://: a server that answers but refuses (no such database, a password asked) is a usage error saying so, not 'is redis-server running there?'",
  ignore,
  async fn() {
    await withSetup({ hosts: 1, pages: 2 }, async (redis, site, dir) => {
      const usage = async (state: string, message: RegExp) => {
        const crawler = new Crawler([`${dir}/urls.txt`, "--quiet", "--state", state]);
        assert.equal(await crawler.exit(), 2, crawler.stderr);
        const lines = crawler.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 2, crawler.stderr);
        assert.match(lines[0], message);
        assert.doesNotMatch(lines[0], /is redis-server running there/);
      };
      // A default server has databases 0 to 15.
      await usage(`${redis.url}/16`, /^crawl: --state '.*\/16': the server has no database 16 /);
      assert.match(await redis.command("CONFIG", "SET", "requirepass", "secret"), /^\+OK/);
      await usage(`${redis.url}/0`, /^crawl: --state '.*\/0': the server asks for a password;/);
      assert.equal(site.requests, 0, "nothing was fetched");
    });
  },
});

Deno.test({
  name:
    "crawl({ state: redis://, output }): records left for an output no process writes are announced, and written when it comes back",
  ignore,
  async fn() {
    await withSetup({ hosts: 1, pages: 40 }, async (redis, site) => {
      const base = { depth: 100, processes: 1, state: redis.url, job: "waiting" };
      const linesOf = (name: string, lines: string[]): CrawlOutput => ({
        name,
        position: () => lines.length,
        rewind: (at) => void lines.splice(at),
      });
      const first: string[] = [];
      for await (
        const record of crawl([site.start], { ...base, output: linesOf("first", first) })
      ) {
        first.push(record.url);
        if (first.length === 10) break; // the tenth at least is not acknowledged
      }
      const warnings: string[] = [];
      const onWarning = (message: string) => warnings.push(message);
      const second: string[] = [];
      const other = { ...base, output: linesOf("second", second), onWarning };
      for await (const record of crawl([site.start], other)) second.push(record.url);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /^\d+ records? of this crawl waits? for the output 'first'/);
      warnings.length = 0;
      const back = { ...base, output: linesOf("first", first), onWarning };
      for await (const record of crawl([site.start], back)) first.push(record.url);
      assert.deepEqual(warnings, []);
      assert.equal(first.length + second.length, 40);
      assert.deepEqual(new Set([...first, ...second]), new Set(site.urls()));
    });
  },
});

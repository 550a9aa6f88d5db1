// The crawl's state in a SQLite file (--state PATH): kill -9 and resume,
// --fresh, resume with the start URLs again, bad --state values, --lease, two
// processes on one file, leases kept while a slow page is fetched, and the
// library's state options. The long version of the kill test (more pages,
// more kills, SQLite and Redis) is bench/crawl_kill_soak.ts.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { crawl, type CrawlOutput, type CrawlRecord } from "../crawler/mod.ts";
import { killAndResume } from "./fixtures/kill_resume.ts";
import { serveSyntheticWeb } from "./fixtures/synthetic_web.ts";

const cli = new URL("../crawler/cli.ts", import.meta.url).pathname;
const config = new URL("../deno.json", import.meta.url).pathname;

async function run(args: string[], cwd?: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, cli, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

async function withDir(test: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "state-test-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function urlsOf(jsonl: string): string[] {
  assert.ok(jsonl === "" || jsonl.endsWith("\n"), "the output ends with a whole record");
  return jsonl.split("\n").filter((line) => line).map((line) => JSON.parse(line).url);
}

Deno.test("crawl --state FILE: kill -9 ten times in a crawl of 2,400 pages, resumed each time: every page once, no half line, extra fetches within the requests in flight", async () => {
  await withDir(async (dir) => {
    const seed = Date.now() % 100_000;
    const report = await killAndResume({
      state: `${dir}/crawl.db`,
      processes: 1,
      kills: 10,
      hosts: 4,
      pages: 600,
      seed,
    });
    const context = `seed ${seed}, ${report.kills} kills\n${report.stderr.slice(-3000)}`;
    assert.deepEqual(report.exits, [0], context);
    assert.deepEqual(report.broken, [], context);
    const urls = report.records.map((r) => r.url);
    assert.equal(new Set(urls).size, urls.length, `a URL recorded twice; ${context}`);
    assert.deepEqual(new Set(urls), new Set(report.web.urls()), context);
    assert.ok(report.records.every((r) => r.error === undefined), context);
    assert.ok(report.kills >= 5, `only ${report.kills} kills: the crawl ended too soon`);
    // Each killed process had at most --concurrency (16) URLs leased.
    assert.ok(
      report.extraFetches <= report.inFlightBound,
      `${report.extraFetches} extra fetches for ${report.kills} kills; ${context}`,
    );
    assert.match(report.stderr, /URLs +2400 seen, 0 queued, 0 in flight/);
  });
});

Deno.test("crawl --state FILE: a finished crawl run again fetches nothing; the start URLs are added again, de-duplicated; --fresh starts over", async () => {
  const web = serveSyntheticWeb({ hosts: 2, pages: 30 });
  try {
    await withDir(async (dir) => {
      const urls = `${dir}/urls.txt`;
      await Deno.writeTextFile(urls, `${web.start}\n${web.bases[1]}p/3\n${web.start}\n`);
      const args = [urls, "--quiet", "--depth", "100", "--scope", "any", "--state", `${dir}/s.db`];
      const first = await run([...args, "--out", `${dir}/a.jsonl`]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(urlsOf(await Deno.readTextFile(`${dir}/a.jsonl`)).length, 60);
      const requests = web.requests;
      const again = await run([...args, "--out", `${dir}/a.jsonl`]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(web.requests, requests, "nothing fetched again");
      assert.match(again.stderr, /pages +0 \(ok 0/);
      assert.match(again.stderr, /The whole crawl[^]*pages +60 \(ok 60, failed 0\)/);
      assert.match(again.stderr, /duplicates +3 filtered/, "the three start URLs were seen");
      // The output keeps its records: the resumed crawl added none.
      assert.equal(urlsOf(await Deno.readTextFile(`${dir}/a.jsonl`)).length, 60);
      const fresh = await run([...args, "--fresh", "--out", `${dir}/b.jsonl`]);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal(urlsOf(await Deno.readTextFile(`${dir}/b.jsonl`)).length, 60);
      assert.equal(web.requests - requests, 60 + 2, "every page and robots.txt fetched again");
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl --state: a bad --state, --job, --fresh or --lease is a usage error: exit 2, one line, nothing fetched", async () => {
  const web = serveSyntheticWeb({ hosts: 1, pages: 2 });
  try {
    await withDir(async (dir) => {
      const urls = `${dir}/urls.txt`;
      await Deno.writeTextFile(urls, `${web.start}\n`);
      const other = new DatabaseSync(`${dir}/other.db`);
      other.exec("CREATE TABLE t (x)");
      other.close();
      await Deno.writeTextFile(`${dir}/damaged.db`, "SQLite format 3\0" + "x".repeat(5000));
      const cases: [string[], RegExp][] = [
        [["--state", `${dir}/no/such/dir/s.db`], /^crawl: --state '.*s\.db': no such directory/],
        [["--state", dir], /^crawl: --state '.*' is a directory; give a file path$/],
        [["--state", urls], /^crawl: --state '.*urls\.txt' is not a SQLite file/],
        [["--state", urls, "--fresh"], /^crawl: --state '.*urls\.txt' is not a SQLite file/],
        [["--state", `${dir}/other.db`], /is a SQLite database but not a crawl's state/],
        [["--state", `${dir}/other.db`, "--fresh"], /is a SQLite database but not a crawl's state/],
        [["--state", `${dir}/damaged.db`], /cannot be read as a crawl's state .*--fresh/],
        [["--state", ""], /^crawl: --state needs a SQLite file path or redis:\/\//],
        [["--state", "redis://127.0.0.1:99999"], /the port must be an integer from 1 to 65535/],
        [["--state", "redis://127.0.0.1:0"], /the port must be an integer from 1 to 65535/],
        [["--state", "redis://127.0.0.1:abc"], /the port must be an integer from 1 to 65535/],
        [["--state", "redis://127.0.0.1:6379/x"], /the database must be a number/],
        [["--state", "postgres://db/crawl"], /unknown scheme 'postgres:'; give a SQLite file path/],
        [["--state", "rediss://127.0.0.1:6379"], /unknown scheme 'rediss:'/],
        // A Redis URL missing "//" is not a file to create in the current directory.
        [["--state", "redis:127.0.0.1:6379"], /is not of the form redis:\/\/HOST:PORT\[\/DB\]/],
        // Credentials are refused, not read as part of the port.
        [["--state", "redis://u:pw@127.0.0.1:6379"], /a user name or password is not supported/],
        // An IPv6 host in brackets: its port is read after the bracket.
        [["--state", "redis://[::1]:99999"], /port must be an integer .*, got '99999'$/],
        [["--state", `${dir}/s.db`, "--job", "x"], /^crawl: --job names a crawl in Redis/],
        [["--state", "redis://127.0.0.1:1", "--job", ""], /^crawl: --job must be 1 to 200/],
        [["--state", "redis://127.0.0.1:1", "--job", "a\x1bb"], /^crawl: --job must be 1 to 200/],
        [["--state", "redis://127.0.0.1:1", "--job", "j".repeat(201)], /--job must be 1 to 200/],
        [["--job", "x"], /^crawl: --job needs --state$/],
        [["--fresh"], /^crawl: --fresh needs --state$/],
        [["--lease", "5000"], /^crawl: --lease needs --state$/],
        [
          ["--state", `${dir}/s.db`, "--lease", "999"],
          /^crawl: --lease must be an integer from 1000 to 2147483647/,
        ],
        [["--state", `${dir}/s.db`, "--lease", "0"], /^crawl: --lease must be/],
        [["--state", `${dir}/s.db`, "--lease", "-5"], /^crawl: --lease must be/],
        [["--state", `${dir}/s.db`, "--lease", "NaN"], /^crawl: --lease must be/],
        [["--state", `${dir}/s.db`, "--lease", "1e4"], /^crawl: --lease must be/],
        [["--state", `${dir}/s.db`, "--lease", "2147483648"], /^crawl: --lease must be/],
        [
          ["--state", "redis://127.0.0.1:1"],
          /^crawl: --state 'redis:\/\/127\.0\.0\.1:1\/0': cannot connect to Redis/,
        ],
      ];
      if (Deno.build.os === "linux") {
        cases.push([
          ["--state", "/proc/crawl-state.db"],
          /^crawl: --state '\/proc\/crawl-state\.db' cannot be/,
        ]);
      }
      // A device or a pipe has no size, like an empty file: --fresh must not
      // delete it (as root, --state /dev/null --fresh deleted /dev/null). A
      // FIFO of the test's folder stands for /dev/null.
      const fifo = `${dir}/fifo`;
      const mkfifo = Deno.build.os === "windows"
        ? false
        : (await new Deno.Command("mkfifo", { args: [fifo] }).output()).success;
      if (mkfifo) {
        for (const fresh of [[], ["--fresh"]]) {
          cases.push([
            ["--state", fifo, ...fresh],
            /^crawl: --state '.*fifo' is not a regular file/,
          ]);
        }
        // Nor as --out: a resumed crawl must be able to cut it back (and
        // opening a FIFO to write would wait for a reader).
        cases.push([
          ["--state", `${dir}/s.db`, "--out", fifo],
          /^crawl: --out '.*fifo' is not a regular file .*give a file path$/,
        ]);
      }
      const requests = web.requests;
      for (const [args, message] of cases) {
        // In the test's folder: a relative --state refused by mistake lands there.
        const { code, stderr } = await run([urls, "--quiet", ...args], dir);
        const lines = stderr.trimEnd().split("\n");
        assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
        assert.equal(lines.length, 2, `${args.join(" ")}: one line and the hint, got ${stderr}`);
        assert.match(lines[0], message, args.join(" "));
        assert.equal(lines[1], "Try 'deno task crawl --help'.");
      }
      assert.equal(web.requests, requests, "nothing was fetched");
      if (mkfifo) assert.ok((await Deno.lstat(fifo)).isFifo, "the FIFO is left as it is");
      // Refused files are left as they were.
      assert.equal(await Deno.readTextFile(urls), `${web.start}\n`);
      assert.ok((await Deno.stat(`${dir}/other.db`)).size > 0);
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl --state FILE: two processes on one file share the crawl (every page once); one --out cannot serve both", async () => {
  const web = serveSyntheticWeb({ hosts: 3, pages: 300 });
  try {
    await withDir(async (dir) => {
      const urls = `${dir}/urls.txt`;
      await Deno.writeTextFile(urls, `${web.start}\n`);
      const args = (out: string) => [
        urls,
        "--quiet",
        "--depth",
        "1000",
        "--scope",
        "any",
        "--state",
        `${dir}/s.db`,
        "--out",
        out,
      ];
      const [a, b] = await Promise.all([
        run(args(`${dir}/a.jsonl`)),
        run(args(`${dir}/b.jsonl`)),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const all = [
        ...urlsOf(await Deno.readTextFile(`${dir}/a.jsonl`)),
        ...urlsOf(await Deno.readTextFile(`${dir}/b.jsonl`)),
      ];
      assert.equal(all.length, 900);
      assert.deepEqual(new Set(all), new Set(web.urls()));
      for (const n of web.hits.values()) assert.equal(n, 1);
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl({ state }): a slow page outlives its lease without being fetched twice (the lease is kept alive); a second crawl on the file waits for it", async () => {
  let slowHits = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let requested: () => void = () => {};
  const slowRequested = new Promise<void>((resolve) => (requested = resolve));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/robots.txt") return new Response("", { status: 404 });
    if (path === "/slow") {
      slowHits++;
      requested();
      await released;
    }
    return new Response(`<title>${path}</title>`, { headers: { "content-type": "text/html" } });
  });
  const url = `http://127.0.0.1:${server.addr.port}/slow`;
  await withDir(async (dir) => {
    const options = { state: `${dir}/s.db`, lease: 1000, processes: 1, timeoutMs: 20_000 };
    const first = Array.fromAsync(crawl([url], options));
    // The first crawl holds /slow; the second finds it leased and waits.
    await slowRequested;
    const second = Array.fromAsync(crawl([url], options));
    // Three leases' worth of time: the first crawl's heartbeat must keep /slow.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(slowHits, 1);
    assert.deepEqual([...a, ...b].map((r) => r.url), [url]);
  });
  await server.shutdown();
});

/** An output kept in `lines`, one URL a line, that the crawl can cut back. */
function linesOf(name: string, lines: string[]): CrawlOutput {
  return { name, position: () => lines.length, rewind: (at) => void lines.splice(at) };
}

Deno.test("crawl({ state, output }): records exactly once through an output that rewinds; without output, records not yet done with come again", async () => {
  const web = serveSyntheticWeb({ hosts: 1, pages: 60 });
  try {
    await withDir(async (dir) => {
      const state = `${dir}/s.db`;
      const base = { depth: 100, processes: 1, state };
      // A consumer that stops after 10 records (as if it crashed there), then
      // resumes: the output is rewound to what was acknowledged.
      const lines: string[] = [];
      const output = linesOf("lines", lines);
      for await (const record of crawl([web.start], { ...base, output })) {
        lines.push(record.url);
        if (lines.length === 10) break;
      }
      for await (const record of crawl([web.start], { ...base, output })) lines.push(record.url);
      assert.equal(lines.length, 60);
      assert.deepEqual(new Set(lines), new Set(web.urls()));
      // Without an output: the record being handled when the loop broke is
      // not acknowledged, so the next run yields it again.
      const state2 = { ...base, state: `${dir}/t.db` };
      const seen: CrawlRecord[] = [];
      for await (const record of crawl([web.start], state2)) {
        seen.push(record);
        if (seen.length === 10) break;
      }
      const rest = await Array.fromAsync(crawl([web.start], state2));
      const union = [...seen, ...rest].map((r) => r.url);
      assert.deepEqual(new Set(union), new Set(web.urls()));
      assert.equal(union.length, 61, "the tenth record comes twice");
      assert.equal(rest[0].url, seen[9].url);
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl({ state, output }): records left for an output no process writes are announced, and written when it comes back", async () => {
  const web = serveSyntheticWeb({ hosts: 1, pages: 40 });
  try {
    await withDir(async (dir) => {
      const base = { depth: 100, processes: 1, state: `${dir}/s.db` };
      const first: string[] = [];
      for await (const record of crawl([web.start], { ...base, output: linesOf("first", first) })) {
        first.push(record.url);
        if (first.length === 10) break; // the tenth at least is not acknowledged
      }
      const warnings: string[] = [];
      const second: string[] = [];
      const onWarning = (message: string) => warnings.push(message);
      const other = { ...base, output: linesOf("second", second), onWarning };
      for await (const record of crawl([web.start], other)) second.push(record.url);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      const waiting =
        /^(\d+) records? of this crawl waits? for the output 'first', which no process is writing: run the crawl again with that output/
          .exec(warnings[0]);
      assert.ok(waiting, warnings[0]);
      // The first output comes back: it gets what was left for it, and the
      // two outputs together hold every page once.
      warnings.length = 0;
      const back = { ...base, output: linesOf("first", first), onWarning };
      let rewoundTo = -1;
      for await (const record of crawl([web.start], back)) {
        if (rewoundTo < 0) rewoundTo = first.length;
        first.push(record.url);
      }
      assert.deepEqual(warnings, []);
      // The count announced was of the records not acknowledged, those written now.
      assert.equal(Number(waiting[1]), first.length - rewoundTo);
      assert.equal(first.length + second.length, 40);
      assert.deepEqual(new Set([...first, ...second]), new Set(web.urls()));
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl({ state, output }): an output waited for is named with its control characters escaped", async () => {
  const web = serveSyntheticWeb({ hosts: 1, pages: 20 });
  try {
    await withDir(async (dir) => {
      const base = { depth: 100, processes: 1, state: `${dir}/s.db` };
      // A name that, printed raw, would clear the terminal and turn it red.
      const hostile = "out\x1b[2J\x1b[31m\u202e.jsonl";
      const first: string[] = [];
      for await (const record of crawl([web.start], { ...base, output: linesOf(hostile, first) })) {
        first.push(record.url);
        if (first.length === 5) break;
      }
      const warnings: string[] = [];
      const onWarning = (message: string) => warnings.push(message);
      for await (const _ of crawl([web.start], { ...base, onWarning })) {
        // Drained.
      }
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /for the output 'out\\x1b\[2J\\x1b\[31m\\u202e\.jsonl'/);
      assert.ok(!warnings[0].includes("\x1b") && !warnings[0].includes("\u202e"), warnings[0]);
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl(): lease out of range is a RangeError; a bad state, job or fresh a StateUsageError; nothing is fetched", async () => {
  const { StateUsageError } = await import("../crawler/_frontier.ts");
  const drain = async (options: Parameters<typeof crawl>[1]) => {
    for await (const _ of crawl(["http://127.0.0.1:1/"], options)) {
      // Never reached.
    }
  };
  for (const lease of [0, -1, 999, NaN, Infinity, 1.5, 2 ** 31]) {
    await assert.rejects(
      () => drain({ state: "unused.db", lease }),
      (error: Error) => error instanceof RangeError && /CrawlOptions\.lease/.test(error.message),
      `lease ${lease}`,
    );
  }
  const bad: [Parameters<typeof crawl>[1], RegExp][] = [
    [{ state: "redis://127.0.0.1:70000" }, /port must be an integer from 1 to 65535/],
    [{ state: "ftp://x/y" }, /unknown scheme 'ftp:'/],
    [{ job: "x" }, /job needs a redis:\/\/ state/],
    [{ fresh: true }, /fresh needs a state/],
    [{ state: "redis://127.0.0.1:1", job: "\u202e" }, /job must be 1 to 200 printable/],
  ];
  for (const [options, message] of bad) {
    await assert.rejects(
      () => drain(options),
      (error: Error) => error instanceof StateUsageError && message.test(error.message),
      JSON.stringify(options),
    );
  }
});

Deno.test("crawl --state FILE: a state file cut in half is refused with a clear message, not a stack trace", async () => {
  const web = serveSyntheticWeb({ hosts: 1, pages: 300 });
  try {
    await withDir(async (dir) => {
      const urls = `${dir}/urls.txt`;
      await Deno.writeTextFile(urls, `${web.start}\n`);
      const args = [urls, "--quiet", "--depth", "1000", "--state", `${dir}/s.db`];
      assert.equal((await run([...args, "--out", `${dir}/a.jsonl`])).code, 0);
      const bytes = await Deno.readFile(`${dir}/s.db`);
      await Deno.writeFile(`${dir}/s.db`, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await Deno.remove(`${dir}/s.db-wal`).catch(() => {});
      const { code, stderr } = await run([...args, "--out", `${dir}/b.jsonl`]);
      assert.ok(code === 1 || code === 2, stderr);
      assert.match(stderr, /^crawl: .*(--state|state) '.*s\.db'/m);
      assert.doesNotMatch(stderr, /^\s+at /m);
      const fresh = await run([...args, "--fresh", "--out", `${dir}/c.jsonl`]);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal(urlsOf(await Deno.readTextFile(`${dir}/c.jsonl`)).length, 300);
    });
  } finally {
    await web.close();
  }
});

Deno.test("crawl --state FILE: a second signal while stdout is not read quits at once; the next run writes again what was not acknowledged", async () => {
  // Records of ~10 KB (150 links each): the 64 KiB pipe is full after a few.
  const pad = "l".repeat(50);
  let served = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    served++;
    const path = new URL(request.url).pathname;
    const links = path === "/"
      ? Array.from({ length: 200 }, (_, i) => `<a href="/p${i}">p</a>`)
      : Array.from({ length: 150 }, (_, i) => `<a href="${path}/${pad}${i}">l</a>`);
    return new Response(`<title>${path}</title>${links.join("")}`, {
      headers: { "content-type": "text/html" },
    });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/urls.txt`, `${base}/\n`);
      const args = [
        "run",
        "-A",
        "--config",
        config,
        cli,
        `${dir}/urls.txt`,
        "--quiet",
        "--no-robots",
        "--depth",
        "1",
        "--concurrency",
        "4",
        "--state",
        `${dir}/s.db`,
      ];
      const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
        .spawn();
      let stderr = "";
      const stderrDone = (async () => {
        for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
          stderr += chunk;
        }
      })();
      // 40 pages fetched: the pipe, not read, is full.
      while (served < 40) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill("SIGINT");
      while (!stderr.includes("Stopping (SIGINT)")) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const second = performance.now();
      child.kill("SIGINT");
      // A guard: a child that hangs is killed, and the test fails.
      const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const status = await child.status;
      clearTimeout(guard);
      // What the pipe holds, read only now: whole records, then perhaps a cut one.
      const first = await new Response(child.stdout).text();
      await stderrDone;
      assert.equal(status.code, 130, stderr);
      assert.ok(performance.now() - second < 10_000);
      const lines = first.split("\n");
      const whole = lines.slice(0, -1).map((line) => JSON.parse(line).url as string);
      assert.ok(whole.length >= 3, `${whole.length} records in the pipe`);
      // The next run resumes: what the first did not acknowledge comes again.
      const again = await run(args.slice(5));
      assert.equal(again.code, 0, again.stderr);
      const all = new Set([...whole, ...urlsOf(again.stdout)]);
      assert.equal(all.size, 201, "every page, at least once");
      assert.match(again.stderr, /The whole crawl[^]*pages +201 \(ok 201, failed 0\)/);
    });
  } finally {
    await server.shutdown();
  }
});

/** Runs `test` with a server answering every path with a page titled by it, and a temporary folder. */
async function withTitleServer(
  test: (base: string, host: string, dir: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new Response(`<title>${new URL(request.url).pathname}</title>`, {
        headers: { "content-type": "text/html" },
      }),
  );
  const host = `127.0.0.1:${server.addr.port}`;
  try {
    await withDir((dir) => test(`http://${host}`, host, dir));
  } finally {
    await server.shutdown();
  }
}

Deno.test("crawl({ state }): a state file of format 1 (the queue before it was one table) is converted when opened, its queue kept", async () => {
  await withTitleServer(async (base, host, dir) => {
    const path = `${dir}/old.db`;
    const db = new DatabaseSync(path);
    db.exec(FORMAT_1_SCHEMA);
    db.prepare("INSERT INTO meta (key, value) VALUES ('format', 'dmp-crawl-state 1')").run();
    // Two pages queued by a crawl of format 1, and their counters.
    for (const [id, path] of [[7, "/b"], [3, "/a"]] as const) {
      const url = `${base}${path}`;
      const job = { kind: "page", url, hop: url, seed: url, depth: 0, attempt: 0, chain: [url] };
      db.prepare("INSERT INTO seen (key) VALUES (?)").run(url);
      db.prepare(
        "INSERT INTO queue (id, key, host, robots, ready, job) VALUES (?, ?, ?, 0, 0, ?)",
      )
        .run(id, url, host, JSON.stringify({ ...job, firstAt: 0 }));
    }
    db.prepare("INSERT INTO hosts VALUES (?, 0, 0, 0, 0, 0)").run(host);
    db.exec(`INSERT INTO counts VALUES ('frontier:seen', 2), ('frontier:queued', 2)`);
    db.close();
    const options = { state: path, robots: false, processes: 1, perHost: 1 };
    const titles = (await Array.fromAsync(crawl([], options))).map((r) => r.title);
    assert.deepEqual(titles, ["/a", "/b"], "in the order they were queued");
    const after = new DatabaseSync(path);
    const format = after.prepare("SELECT value FROM meta WHERE key = 'format'").get();
    after.close();
    assert.deepEqual({ ...format }, { value: "dmp-crawl-state 3" });
    // And it opens again as the current format.
    assert.deepEqual(
      await Array.fromAsync(crawl([`${base}/c`], options)).then((r) => r.length),
      1,
    );
  });
});

Deno.test("crawl({ state, output }): a state file of format 2 (before writers kept their acknowledged number) is converted when opened: its outbox delivered once", async () => {
  await withTitleServer(async (base, host, dir) => {
    const path = `${dir}/old.db`;
    const db = new DatabaseSync(path);
    db.exec(FORMAT_2_SCHEMA);
    db.prepare("INSERT INTO meta (key, value) VALUES ('format', 'dmp-crawl-state 2')").run();
    // /a was fetched and committed, not yet written to the output "lines"
    // (checkpoint 0: empty); /b is queued.
    const [a, b] = [`${base}/a`, `${base}/b`];
    const job = { kind: "page", url: b, hop: b, seed: a, depth: 1, attempt: 0, chain: [b] };
    const record = {
      url: a,
      finalUrl: a,
      status: 200,
      contentType: "text/html",
      encoding: "utf-8",
      title: "/a",
      links: [b],
      bytes: 15,
      depth: 0,
      elapsedMs: 1,
    };
    db.exec(`INSERT INTO seen (key) VALUES ('${a}'), ('${b}')`);
    db.prepare("INSERT INTO queue (host, robots, ready, id, job) VALUES (?, 0, 0, 1, ?)")
      .run(host, JSON.stringify({ ...job, firstAt: 0 }));
    db.prepare("INSERT INTO hosts VALUES (?, 0, 0, 0, 0, 0)").run(host);
    db.exec(`INSERT INTO counts VALUES ('frontier:seen', 2), ('frontier:queued', 1),
        ('queue:ids', 2), ('pages', 1), ('ok', 1), ('status:200', 1)`);
    db.exec(`INSERT INTO writers VALUES ('lines', '', 0, 1, 0)`);
    db.prepare("INSERT INTO outbox VALUES ('lines', 1, ?)").run(JSON.stringify(record));
    db.close();
    const lines: string[] = [];
    const options = { state: path, robots: false, processes: 1, output: linesOf("lines", lines) };
    for await (const record of crawl([], options)) lines.push(record.url);
    assert.deepEqual(lines, [a, b], "the outbox first, then the queue");
    const after = new DatabaseSync(path);
    const format = after.prepare("SELECT value FROM meta WHERE key = 'format'").get();
    const index = after.prepare("SELECT name FROM sqlite_master WHERE name = 'leases_token'")
      .get();
    after.close();
    assert.deepEqual({ ...format }, { value: "dmp-crawl-state 3" });
    assert.equal(index, undefined, "the index of leases by run is dropped");
    // Run again: what was acknowledged is not delivered again.
    for await (const record of crawl([], options)) lines.push(record.url);
    assert.deepEqual(lines, [a, b]);
  });
});

/** The schema of a crawl state of format 2, as the previous version created it. */
const FORMAT_2_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE queue (host TEXT NOT NULL, robots INTEGER NOT NULL,
  ready REAL NOT NULL, id INTEGER NOT NULL, job TEXT NOT NULL,
  PRIMARY KEY (host, robots, ready, id)) WITHOUT ROWID;
CREATE TABLE leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL,
  job TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX leases_token ON leases (token);
CREATE TABLE hosts (host TEXT PRIMARY KEY, active INTEGER NOT NULL, next_at REAL NOT NULL,
  crawl_delay REAL NOT NULL, pending INTEGER NOT NULL, ready_at REAL) WITHOUT ROWID;
CREATE INDEX hosts_ready ON hosts (ready_at) WHERE ready_at IS NOT NULL;
CREATE TABLE origins (origin TEXT PRIMARY KEY, verdict TEXT) WITHOUT ROWID;
CREATE TABLE counts (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE runs (token TEXT PRIMARY KEY, machine TEXT NOT NULL, hostname TEXT NOT NULL,
  pid INTEGER NOT NULL, started TEXT NOT NULL, writer TEXT NOT NULL, expires REAL NOT NULL)
  WITHOUT ROWID;
CREATE INDEX runs_expires ON runs (expires);
CREATE TABLE writers (name TEXT PRIMARY KEY, token TEXT NOT NULL, adoptable INTEGER NOT NULL,
  seq INTEGER NOT NULL, checkpoint INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE outbox (writer TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (writer, seq)) WITHOUT ROWID;
`;

/** The schema of a crawl state of format 1, as the previous version created it. */
const FORMAT_1_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE queue (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, host TEXT NOT NULL,
  robots INTEGER NOT NULL, ready REAL NOT NULL, job TEXT NOT NULL);
CREATE INDEX queue_head ON queue (host, robots, ready, id);
CREATE TABLE leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL,
  job TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX leases_token ON leases (token);
CREATE TABLE hosts (host TEXT PRIMARY KEY, active INTEGER NOT NULL, next_at REAL NOT NULL,
  crawl_delay REAL NOT NULL, pending INTEGER NOT NULL, ready_at REAL) WITHOUT ROWID;
CREATE INDEX hosts_ready ON hosts (ready_at) WHERE ready_at IS NOT NULL;
CREATE TABLE origins (origin TEXT PRIMARY KEY, verdict TEXT) WITHOUT ROWID;
CREATE TABLE counts (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE runs (token TEXT PRIMARY KEY, machine TEXT NOT NULL, hostname TEXT NOT NULL,
  pid INTEGER NOT NULL, started TEXT NOT NULL, writer TEXT NOT NULL, expires REAL NOT NULL)
  WITHOUT ROWID;
CREATE INDEX runs_expires ON runs (expires);
CREATE TABLE writers (name TEXT PRIMARY KEY, token TEXT NOT NULL, adoptable INTEGER NOT NULL,
  seq INTEGER NOT NULL, checkpoint INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE outbox (writer TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (writer, seq)) WITHOUT ROWID;
`;

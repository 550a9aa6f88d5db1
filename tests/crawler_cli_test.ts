import assert from "node:assert/strict";
import { serveDemoSite } from "../crawler/demo_site.ts";
import { serveHostile } from "./fixtures/hostile_server.ts";
import { UsageError } from "../crawler/_args.ts";
import { readUrlFile } from "../crawler/_url_file.ts";

const cli = new URL("../crawler/cli.ts", import.meta.url);
const config = new URL("../deno.json", import.meta.url);

function command(args: string[], stdout: "piped" | "null" = "piped") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config.pathname, cli.pathname, ...args],
    stdout,
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  });
}

async function run(args: string[]) {
  const { code, stdout, stderr } = await command(args).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

/** A running crawl: its output as it comes, and a way to wait for a line of it. */
class Child {
  readonly process: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #waiters: (() => void)[] = [];
  readonly #reading: Promise<void>[];

  /** @param readStdout false leaves stdout unread, as a reader that never reads does. */
  constructor(args: string[], readStdout = true) {
    this.process = command(args).spawn();
    this.#reading = [this.#read(this.process.stderr, (text) => (this.stderr += text))];
    if (readStdout) {
      this.#reading.push(this.#read(this.process.stdout, (text) => (this.stdout += text)));
    }
  }

  async #read(stream: ReadableStream<Uint8Array>, append: (text: string) => void) {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      append(decoder.decode(chunk, { stream: true }));
      for (const wake of this.#waiters.splice(0)) wake();
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves when stderr matches `pattern` (rejects if the child ends first). */
  async waitForStderr(pattern: RegExp): Promise<void> {
    while (!pattern.test(this.stderr)) {
      const ended = await Promise.race([
        new Promise<false>((resolve) => this.#waiters.push(() => resolve(false))),
        this.process.status.then(() => true),
      ]);
      if (ended && !pattern.test(this.stderr)) {
        await Promise.all(this.#reading);
        if (!pattern.test(this.stderr)) {
          throw new Error(`ended without ${pattern}: ${this.stderr}`);
        }
      }
    }
  }

  /** Waits for the end; returns the exit code. */
  async exit(): Promise<number> {
    const { code } = await this.process.status;
    await Promise.all(this.#reading);
    return code;
  }
}

/** Every stdout line is one whole JSON record. */
function records(stdout: string): Record<string, unknown>[] {
  assert.ok(stdout === "" || stdout.endsWith("\n"), "the output ends with a whole record");
  return stdout.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

async function withUrls(lines: string, test: (file: string, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/urls.txt`;
    await Deno.writeTextFile(file, lines);
    await test(file, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("crawl CLI: a usage error exits 2 with one line saying what is wrong, then a hint", async () => {
  await withUrls("http://127.0.0.1:1/\n", async (urls, dir) => {
    const cases: [string[], RegExp][] = [
      [[], /^crawl: missing URLS_FILE$/],
      [
        [`${dir}/nope.txt`],
        /^crawl: cannot read URLS_FILE '.*nope\.txt': no such file or directory$/,
      ],
      [[urls, "x.txt"], /^crawl: expected one URLS_FILE, got 2/],
      [[urls, "--depth", "x"], /^crawl: --depth must be an integer from 0 to 2147483647, got 'x'$/],
      [
        [urls, "--depth", "-1"],
        /^crawl: --depth must be an integer from 0 to 2147483647, got '-1'$/,
      ],
      [
        [urls, "--depth=1.5"],
        /^crawl: --depth must be an integer from 0 to 2147483647, got '1.5'$/,
      ],
      [[urls, "--depth"], /^crawl: --depth needs a value$/],
      // Decimal digits only: no spaces, no sign.
      [[urls, "--depth", " 5"], /^crawl: --depth must be an integer .*, got ' 5'$/],
      [[urls, "--concurrency", "5 "], /^crawl: --concurrency must be an integer .*, got '5 '$/],
      [[urls, "--timeout=+500"], /^crawl: --timeout must be an integer .*, got '\+500'$/],
      [[urls, "--max-bytes", "0x10"], /^crawl: --max-bytes must be an integer .*, got '0x10'$/],
      [
        [urls, "--retries", "NaN"],
        /^crawl: --retries must be an integer from 0 to 100, got 'NaN'$/,
      ],
      [
        [urls, "--concurrency", "Infinity"],
        /^crawl: --concurrency must be an integer from 1 to 4096/,
      ],
      [
        [urls, "--timeout", "0"],
        /^crawl: --timeout must be an integer from 1 to 2147483647 \(milliseconds/,
      ],
      [
        [urls, "--timeout", "2147483648"],
        /^crawl: --timeout must be .* to 2147483647 .*, got '2147483648'$/,
      ],
      [
        [urls, "--delay", "3000000000"],
        /^crawl: --delay must be .* to 2147483647 .*, got '3000000000'$/,
      ],
      [[urls, "--max-bytes", "0"], /^crawl: --max-bytes must be an integer from 1 to 268435456/],
      [[urls, "--max-bytes", "1e3"], /^crawl: --max-bytes must be .*, got '1e3'$/],
      [[urls, "--processes", "257"], /^crawl: --processes must be an integer from 1 to 256/],
      [[urls, "--per-host", "99999999999999999999"], /^crawl: --per-host must be/],
      [[urls, "--max-pages", "0"], /^crawl: --max-pages must be an integer from 1/],
      [[urls, "--format", "xml"], /^crawl: --format must be jsonl, csv or text, got 'xml'$/],
      [
        [urls, "--scope", "planet"],
        /^crawl: --scope must be same-host, same-origin, same-domain or any/,
      ],
      [[urls, "--parse", "gpu"], /^crawl: --parse must be main or worker, got 'gpu'$/],
      [[urls, "--select", "no-equals"], /^crawl: invalid --select 'no-equals'/],
      [
        [urls, "--user-agent", "bot\r\nX-Evil: 1"],
        /^crawl: --user-agent must be non-empty printable ASCII/,
      ],
      [[urls, "--bogus"], /^crawl: unknown option '--bogus'$/],
      [[urls, "-x"], /^crawl: unknown option '-x'$/],
      [[urls, "--quiet=yes"], /^crawl: --quiet takes no value, got '--quiet=yes'$/],
      [
        [urls, "--out", `${dir}/no/such/dir/out.jsonl`],
        /^crawl: cannot write --out '.*out\.jsonl': no such file or directory$/,
      ],
      [[urls, "--out", dir], /^crawl: cannot write --out '.*': it is a directory, not a file$/],
      [[urls, "--out", ""], /^crawl: --out needs a file name$/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await run(args);
      const lines = stderr.trimEnd().split("\n");
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(lines.length, 2, `${args.join(" ")}: one line and the hint, got ${stderr}`);
      assert.match(lines[0], message);
      assert.equal(lines[1], "Try 'deno task crawl --help'.");
      assert.equal(stdout, "");
    }
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: deno task crawl URLS_FILE \[options\]/);
  });
  await withUrls("# nothing here\nnot a url\n", async (urls) => {
    const { code, stderr } = await run([urls]);
    assert.equal(code, 2);
    assert.match(stderr, /crawl: no http\(s\) URL in URLS_FILE/);
  });
});

Deno.test("crawl CLI: skips bad lines, writes jsonl, csv and the seed's text format", async () => {
  const site = serveDemoSite({ pages: 3 });
  try {
    await withUrls(`# start\n\n${site.url}\nftp://nope\n${site.url}page/1\n`, async (urls, dir) => {
      const jsonl = await run([urls, "--quiet", "--no-robots"]);
      assert.equal(jsonl.code, 0, jsonl.stderr);
      assert.match(jsonl.stderr, /urls\.txt:4: skipped, not an http\(s\) URL: ftp:\/\/nope/);
      assert.match(jsonl.stderr, /pages +2 \(ok 2, failed 0\)/);
      const lines = records(jsonl.stdout);
      assert.deepEqual(lines.map((r) => r.title).sort(), ["Demo site", "Page 1"]);
      assert.ok(lines.every((r) => r.encoding === "utf-8"));
      const out = `${dir}/out.csv`;
      const csv = await run([
        urls,
        "--quiet",
        "--format",
        "csv",
        "--out",
        out,
        "--select",
        "h=title",
      ]);
      assert.equal(csv.code, 0, csv.stderr);
      const rows = (await Deno.readTextFile(out)).trim().split("\n");
      assert.equal(
        rows[0],
        "url,finalUrl,status,contentType,encoding,title,links,bytes,depth,elapsedMs,error,fields.h",
      );
      assert.equal(rows.length, 3);
      const text = await run([urls, "--quiet", "--format", "text"]);
      assert.match(text.stdout, new RegExp(`^url:<${site.url}> size:\\[\\d+\\]$`, "m"));
    });
  } finally {
    await site.close();
  }
});

Deno.test("crawl CLI: CSV cells that a spreadsheet would run as formulas start with '", async () => {
  const titles = ['=HYPERLINK("http://evil.test","x")', "+1+1", "-2", "@SUM(A1)", "\tTab", "safe"];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const n = Number(new URL(request.url).pathname.slice(1));
      // A field read from an attribute keeps its leading tab (a title would not).
      return new Response(`<title>${titles[n] ?? "none"}</title><meta name=m content="&#9;Tab">`, {
        headers: { "content-type": n === 5 ? "=cmd|' /C calc'!A0" : "text/html" },
      });
    },
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    await withUrls(titles.map((_, i) => `${base}${i}`).join("\n"), async (urls) => {
      const { code, stdout, stderr } = await run([
        urls,
        "--quiet",
        "--no-robots",
        "--format",
        "csv",
        "--select",
        "m=meta@content",
      ]);
      assert.equal(code, 0, stderr);
      const rows = stdout.split("\n").slice(1, -1);
      const byPath = new Map(rows.map((row) => [row.split(",")[0].split("/").pop(), row]));
      assert.match(byPath.get("0")!, /,"'=HYPERLINK\(""http:\/\/evil\.test"",""x""\)",/);
      assert.match(byPath.get("1")!, /,'\+1\+1,/);
      assert.match(byPath.get("2")!, /,'-2,/);
      assert.match(byPath.get("3")!, /,'@SUM\(A1\),/);
      assert.match(byPath.get("4")!, /,'\tTab$/);
      // The Content-Type header is the server's too.
      assert.match(byPath.get("5")!, /,'=cmd\|' \/C calc'!A0,/);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("crawl CLI: control characters of a URL file are escaped when echoed", async () => {
  await withUrls("http://127.0.0.1:1/\n\x1b]0;pwned\x07\x1b[2J\u202enope\n", async (urls) => {
    const { stderr } = await run([urls, "--quiet", "--retries", "0", "--no-robots"]);
    const line = stderr.split("\n").find((l) => l.includes("skipped"))!;
    assert.ok(
      line.endsWith("skipped, not an http(s) URL: \\x1b]0;pwned\\x07\\x1b[2J\\u202enope"),
      line,
    );
    // Only newlines: no raw control or bidi character reaches the terminal.
    assert.ok(!/[\p{Cc}\u202e]/u.test(stderr.replaceAll("\n", "")), "no raw control character");
  });
});

Deno.test("crawl CLI: a full disk exits 1 with a message, not a stack trace", async () => {
  const site = serveDemoSite({ pages: 300 });
  try {
    await withUrls(`${site.url}\n`, async (urls) => {
      if (Deno.build.os === "linux") {
        const full = await run([urls, "--quiet", "--depth", "2", "--out", "/dev/full"]);
        assert.equal(full.code, 1, full.stderr);
        assert.match(
          full.stderr,
          /^crawl: cannot write records to '\/dev\/full': No space left on device/m,
        );
        assert.match(full.stderr, /Crawl stopped: the records could not be written\./);
        assert.doesNotMatch(full.stderr, /^\s+at /m);
      }
    });
  } finally {
    await site.close();
  }
});

Deno.test("crawl CLI: a closed stdout pipe exits 1 with a message, not a stack trace", async () => {
  // ~1000 records, far more than a pipe buffer (64 KiB) holds: the crawl
  // cannot finish before the reader goes away.
  const site = serveDemoSite({ pages: 1000 });
  try {
    await withUrls(`${site.url}\n`, async (urls) => {
      const process = command([urls, "--quiet", "--depth", "12", "--per-host", "8"]).spawn();
      // Read one chunk of records, then close the pipe, as `| head -c 100` does.
      const reader = process.stdout.getReader();
      await reader.read();
      await reader.cancel();
      const [{ code }, stderr] = await Promise.all([
        process.status,
        new Response(process.stderr).text(),
      ]);
      assert.equal(code, 1, stderr);
      assert.match(stderr, /^crawl: cannot write records to stdout: Broken pipe/m);
      assert.doesNotMatch(stderr, /^\s+at /m);
    });
  } finally {
    await site.close();
  }
});

function stopArgs(urls: string, timeoutMs: number): string[] {
  return [
    urls,
    "--quiet",
    "--no-robots",
    "--scope",
    "any",
    "--depth",
    "1",
    "--per-host",
    "1",
    "--processes",
    "1",
    "--retries",
    "2",
    "--timeout",
    String(timeoutMs),
  ];
}

/** The page the stop tests start from. */
function startPage(base: string): string {
  const links = ["retry-after/30", "hang", "later-1", "later-2", "later-3"];
  return `<title>start</title>${links.map((l) => `<a href="${base}${l}">${l}</a>`).join("")}`;
}

/**
 * The stop tests' site: a start page linking to the hostile server's
 * /retry-after/30 (503, retry in 30 s), /hang (answers when released) and
 * /later-1..3. With --per-host 1 the order is fixed: when /hang is requested,
 * /retry-after/30 waits for its retry and the /later pages are queued.
 */
function serveStopSite() {
  const hostile = serveHostile();
  const front = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(startPage(hostile.url), { headers: { "content-type": "text/html" } }),
  );
  return {
    hostile,
    start: `http://127.0.0.1:${front.addr.port}/`,
    async close() {
      hostile.release();
      await front.shutdown();
      await hostile.close();
    },
  };
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`crawl CLI: ${signal} with --depth 1 stops, keeps records whole, summarises, exits ${code}`, async () => {
    const site = serveStopSite();
    try {
      await withUrls(`${site.start}\n`, async (urls) => {
        const child = new Child([...stopArgs(urls, 20_000)]);
        // /retry has had its 503 and waits; /hang is in flight; /later-* are queued.
        await site.hostile.requested("/hang");
        child.process.kill(signal);
        await child.waitForStderr(new RegExp(`Stopping \\(${signal}\\)`));
        // Answer /hang only now: its links come after the stop and must not be followed.
        site.hostile.release();
        const exit = await child.exit();
        assert.equal(exit, code, child.stderr);
        assert.match(child.stderr, new RegExp(`Crawl interrupted \\(${signal}\\)`));
        assert.match(child.stderr, /pages +3 /);
        const byPath = new Map(
          records(child.stdout).map((r) => [new URL(r.url as string).pathname, r]),
        );
        assert.deepEqual([...byPath.keys()].sort(), ["/", "/hang", "/retry-after/30"]);
        assert.equal(byPath.get("/hang")!.status, 200);
        assert.equal(
          byPath.get("/retry-after/30")!.error,
          "not fetched: crawl interrupted while waiting to retry (the last attempt: HTTP 503)",
        );
        const asked = site.hostile.requests;
        assert.ok(!asked.some((p) => p.startsWith("/later") || p === "/after-hang"), `${asked}`);
      });
    } finally {
      await site.close();
    }
  });
}

Deno.test("crawl CLI: after a stop, a request that never answers ends at --timeout", async () => {
  const site = serveStopSite();
  try {
    await withUrls(`${site.start}\n`, async (urls) => {
      const child = new Child([...stopArgs(urls, 2_000)]);
      await site.hostile.requested("/hang");
      const stopped = performance.now();
      child.process.kill("SIGINT");
      const exit = await child.exit();
      const waited = performance.now() - stopped;
      assert.equal(exit, 130, child.stderr);
      // /hang times out 2 s after it started, so at most 2 s after the stop.
      assert.ok(waited < 2_000 + 10_000, `${waited} ms`);
      const hang = records(child.stdout).find((r) => (r.url as string).endsWith("/hang"))!;
      // The worker's own timeout and the stop deadline (2 s after the signal)
      // fall within milliseconds of each other: either may make the record.
      assert.match(
        hang.error as string,
        /^(timed out after 2000 ms waiting for the response|not finished: crawl interrupted, and the request did not end within the 2000 ms timeout)$/,
      );
    });
  } finally {
    await site.close();
  }
});

Deno.test("crawl CLI: a second Ctrl-C quits at once, with whole records", async () => {
  const site = serveStopSite();
  try {
    await withUrls(`${site.start}\n`, async (urls) => {
      const child = new Child([...stopArgs(urls, 60_000)]);
      await site.hostile.requested("/hang");
      child.process.kill("SIGINT");
      await child.waitForStderr(/Stopping \(SIGINT\)/);
      const second = performance.now();
      child.process.kill("SIGINT");
      const exit = await child.exit();
      // /hang would hold the crawl for 60 s; the second Ctrl-C does not wait for it.
      assert.ok(performance.now() - second < 30_000);
      assert.equal(exit, 130, child.stderr);
      assert.match(child.stderr, /Crawl stopped at once by a second SIGINT/);
      const paths = records(child.stdout).map((r) => new URL(r.url as string).pathname);
      assert.ok(!paths.includes("/hang"), `${paths}`);
    });
  } finally {
    await site.close();
  }
});

Deno.test("crawl CLI: a hostile Retry-After or Crawl-delay neither stalls the crawl nor floods stderr", async () => {
  const robots = serveHostile({ robots: () => new Response("User-agent: *\nCrawl-delay: 1e9\n") });
  const pages = serveHostile();
  try {
    await withUrls(
      `${pages.url}retry-after/1000000000\n${robots.url}a\n${robots.url}b\n`,
      async (urls) => {
        const started = performance.now();
        const { code, stdout, stderr } = await run([urls, "--quiet", "--retries", "3"]);
        assert.equal(code, 0, stderr);
        assert.ok(performance.now() - started < 30_000);
        assert.doesNotMatch(stderr, /TimeoutOverflowWarning/);
        const errors = records(stdout).map((r) => r.error).sort();
        assert.deepEqual(errors, [
          "HTTP 503, not retried: Retry-After of 1000000000 s exceeds the 60 s cap",
          "not fetched: robots.txt asks for a Crawl-delay of 1000000000 s, over the 60 s cap",
          "not fetched: robots.txt asks for a Crawl-delay of 1000000000 s, over the 60 s cap",
        ]);
        assert.match(stderr, /robots\.txt +2 blocked, 0 not fetched/);
      },
    );
  } finally {
    await robots.close();
    await pages.close();
  }
});

Deno.test("crawl CLI: the URL file is read as a stream: a line over 64 KiB is skipped, over 1 GiB is refused", async () => {
  const site = serveDemoSite({ pages: 3 });
  try {
    const long = `${site.url}${"x".repeat(70_000)}`;
    await withUrls(`${site.url}\n${long}\n${site.url}page/1\n`, async (urls) => {
      const { code, stdout, stderr } = await run([urls, "--quiet", "--no-robots"]);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /urls\.txt:2: skipped, a line of more than 65536 bytes\n/);
      assert.equal(records(stdout).length, 2);
    });
  } finally {
    await site.close();
  }
  // The bounds, small: a file of more URLs, or more bytes, is a usage error.
  await withUrls("http://a.test/\nhttp://b.test/\n# c\nhttp://c.test/\n", async (urls) => {
    const said: string[] = [];
    const limits = { maxLineBytes: 64, maxFileBytes: 1024, maxUrls: 3 };
    assert.equal((await readUrlFile(urls, (l) => said.push(l), limits)).length, 3);
    await assert.rejects(
      () => readUrlFile(urls, (l) => said.push(l), { ...limits, maxUrls: 2 }),
      (error: Error) =>
        error instanceof UsageError && /has more than 2 URLs; split it/.test(error.message),
    );
    await assert.rejects(
      () => readUrlFile(urls, (l) => said.push(l), { ...limits, maxFileBytes: 20 }),
      (error: Error) =>
        error instanceof UsageError && /is larger than 20 bytes/.test(error.message),
    );
    assert.deepEqual(said, []);
  });
  if (Deno.build.os !== "linux") return;
  // An endless file (as /dev/zero, a FIFO the test feeds): read at most 1 GiB, in bounded memory.
  await withUrls("", async (_, dir) => {
    const fifo = `${dir}/endless`;
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    const child = command([fifo, "--quiet"]).spawn();
    let peak = 0;
    const sampler = setInterval(() => {
      try {
        const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
        peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
        // The test's own guard: a reader that keeps what it reads is stopped here.
        if (peak > 1024 ** 3) child.kill("SIGKILL");
      } catch {
        // Gone.
      }
    }, 20);
    const writer = await Deno.open(fifo, { write: true });
    const zeros = new Uint8Array(1024 * 1024); // no newline: one endless line
    try {
      for (let sent = 0; sent < 1.25 * 1024 ** 3;) sent += await writer.write(zeros);
    } catch (error) {
      assert.ok(error instanceof Deno.errors.BrokenPipe, String(error));
    } finally {
      writer.close();
    }
    const [{ code }, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      child.stdout.cancel(),
    ]);
    clearInterval(sampler);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^crawl: URLS_FILE '.*endless' is larger than 1073741824 bytes, the most/);
    assert.ok(peak < 400 * 1024 * 1024, `peak RSS ${peak >> 20} MiB`);
  });
});

Deno.test("crawl CLI: a second signal quits within a second even when stdout is a pipe nobody reads", async () => {
  // Records of ~10 KB (150 links each): a 64 KiB pipe is full after a few.
  const pad = "l".repeat(50);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    served++;
    const path = new URL(request.url).pathname;
    const links = path === "/"
      ? Array.from({ length: 300 }, (_, i) => `<a href="/p${i}">p</a>`)
      : Array.from({ length: 150 }, (_, i) => `<a href="${path}/${pad}${i}">l</a>`);
    return new Response(`<title>${path}</title>${links.join("")}`, {
      headers: { "content-type": "text/html" },
    });
  });
  let served = 0;
  try {
    await withUrls(`http://127.0.0.1:${server.addr.port}/\n`, async (urls) => {
      const child = new Child(
        [urls, "--quiet", "--no-robots", "--depth", "1", "--concurrency", "4"],
        false,
      );
      try {
        // 40 pages fetched: at least 20 records made, the pipe full after 7.
        while (served < 40) await new Promise((resolve) => setTimeout(resolve, 10));
        child.process.kill("SIGINT");
        await child.waitForStderr(/Stopping \(SIGINT\)/);
        const second = performance.now();
        child.process.kill("SIGTERM");
        // A guard: a child that hangs is killed, and the test fails.
        const guard = setTimeout(() => child.process.kill("SIGKILL"), 15_000);
        const exit = await child.exit();
        clearTimeout(guard);
        assert.equal(exit, 143, child.stderr);
        assert.ok(performance.now() - second < 10_000, `${performance.now() - second} ms`);
        assert.match(child.stderr, /Crawl stopped at once by a second SIGTERM/);
        assert.match(child.stderr, /did not complete within 1 s .* and may be cut short/);
      } finally {
        await child.process.stdout.cancel().catch(() => {});
        await child.process.status;
      }
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("crawl CLI: control characters from servers are escaped in CSV, and DEL and C1 in JSONL", async () => {
  const title = "a\x1b]0;pwned\x07\x1b[2Jb\x7f\x9bc";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(`<title>${title}</title><p id="\x1b[31m">`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  );
  try {
    await withUrls(`http://127.0.0.1:${server.addr.port}/\n`, async (urls) => {
      const args = [urls, "--quiet", "--no-robots", "--select", "id=p@id"];
      const csv = await run([...args, "--format", "csv"]);
      assert.equal(csv.code, 0, csv.stderr);
      const row = csv.stdout.split("\n")[1];
      assert.ok(row.includes(",a\\x1b]0;pwned\\x07\\x1b[2Jb\\x7f\\x9bc,"), row);
      assert.ok(row.endsWith(",\\x1b[31m"), row);
      const jsonl = await run(args);
      assert.equal(jsonl.code, 0, jsonl.stderr);
      // Only newlines: JSON escapes every control character; the record is the same.
      assert.ok(!/[\p{Cc}]/u.test(jsonl.stdout.replaceAll("\n", "")), jsonl.stdout);
      const [record] = records(jsonl.stdout);
      assert.equal(record.title, title);
      assert.deepEqual(record.fields, { id: "\x1b[31m" });
    });
  } finally {
    await server.shutdown();
  }
});

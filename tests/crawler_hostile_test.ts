// crawl() against a hostile server (tests/fixtures/hostile_server.ts): broken
// HTTP, huge waits, robots.txt redirected to local files, legacy charsets,
// pathological pages. Everything runs on 127.0.0.1.

import assert from "node:assert/strict";
import { crawl, type CrawlOptions, type CrawlRecord, newStats } from "../crawler/mod.ts";
import { fetchOnce } from "../crawler/_fetch_task.ts";
import { describeFetchError } from "../crawler/_fetch_error.ts";
import { RobotsTxt } from "../crawler/robots.ts";
import {
  CHARSET_SAMPLES,
  type HostileOptions,
  type HostileServer,
  serveHostile,
} from "./fixtures/hostile_server.ts";

const quick: CrawlOptions = {
  processes: 1,
  concurrency: 8,
  backoffMs: 20,
  timeoutMs: 5_000,
  robots: false,
};

async function collect(urls: string[], options: CrawlOptions = {}): Promise<CrawlRecord[]> {
  const records: CrawlRecord[] = [];
  for await (const record of crawl(urls, { ...quick, ...options })) records.push(record);
  return records;
}

async function withServer(
  test: (server: HostileServer) => Promise<void>,
  options?: HostileOptions,
): Promise<void> {
  const server = serveHostile(options);
  try {
    await test(server);
  } finally {
    await server.close();
  }
}

const text = (body: string, status = 200) => new Response(body, { status });

Deno.test("crawl() names the cause of a network failure, not a bare 'fetch failed'", async () => {
  await withServer(async (server) => {
    const expected: [string, RegExp][] = [
      [server.refused, /^connection refused$/],
      [
        server.raw["reset-mid-body"],
        /^connection lost while reading the body \(1000 of 100000 bytes read\)$/,
      ],
      [server.raw["no-headers"], /^timed out after 500 ms waiting for the response$/],
      [server.raw["malformed-header"], /^invalid HTTP response \(invalid HTTP header parsed\)$/],
      [server.raw["invalid-status"], /^invalid HTTP response \(invalid HTTP version parsed\)$/],
      [server.raw["endless-headers"], /^invalid HTTP response \(message head is too large\)$/],
      [server.raw["closed-early"], /^connection closed before the response came$/],
    ];
    const records = await collect(expected.map(([url]) => url), { retries: 0, timeoutMs: 500 });
    for (const [url, error] of expected) {
      const record = records.find((r) => r.url === url)!;
      assert.match(record.error ?? "(no error)", error, url);
    }
    assert.equal(records.find((r) => r.url === server.raw["reset-mid-body"])!.status, 200);
  });
});

Deno.test("crawl() retries an unreachable robots.txt, then fails its URLs saying why, apart from robots blocks", async () => {
  await withServer(async (server) => {
    const stats = newStats();
    const [record] = await collect([`${server.raw["closed-early"]}page`], {
      robots: true,
      retries: 2,
      stats,
    });
    assert.equal(
      record.error,
      "robots.txt unreachable (connection closed before the response came)",
    );
    assert.equal(server.rawConnections["closed-early"], 3, "robots.txt tried 1 + 2 retries times");
    assert.equal(stats.robotsUnreachable, 1);
    assert.equal(stats.blockedByRobots, 0);
    const [refused] = await collect([`${server.refused}page`], { robots: true, retries: 1 });
    assert.equal(refused.error, "robots.txt unreachable (connection refused)");
  });
});

Deno.test("crawl() treats a robots.txt that answers 5xx after its retries as disallow-all, and says so", async () => {
  let robotsRequests = 0;
  await withServer(async (server) => {
    const stats = newStats();
    const [record] = await collect([`${server.url}page`], { robots: true, retries: 1, stats });
    assert.equal(record.error, "robots.txt answered 503: disallowed all, as RFC 9309 says");
    assert.equal(robotsRequests, 2);
    assert.ok(!server.requests.includes("/page"));
    assert.equal(stats.robotsUnreachable, 1);
    assert.equal(stats.blockedByRobots, 0);
  }, {
    robots: () => {
      robotsRequests++;
      return text("down", 503);
    },
  });
});

Deno.test("crawl() fails a URL whose Retry-After exceeds the 60 s cap at once, saying why", async () => {
  await withServer(async (server) => {
    const farDate = encodeURIComponent(new Date(Date.now() + 86_400_000).toUTCString());
    const started = performance.now();
    const records = await collect([
      `${server.url}retry-after/1000000000`,
      `${server.url}retry-after/${farDate}`,
    ], { retries: 2 });
    assert.ok(performance.now() - started < 20_000);
    const [seconds, date] = [
      records.find((r) => r.url.endsWith("1000000000"))!,
      records.find((r) => !r.url.endsWith("1000000000"))!,
    ];
    assert.equal(
      seconds.error,
      "HTTP 503, not retried: Retry-After of 1000000000 s exceeds the 60 s cap",
    );
    assert.match(
      date.error!,
      /^HTTP 503, not retried: Retry-After of 8[0-9.]+ s exceeds the 60 s cap$/,
    );
    assert.equal(
      server.requests.filter((p) => p.startsWith("/retry-after/")).length,
      2,
      "no retry",
    );
  });
});

Deno.test("crawl() does not crawl an origin whose Crawl-delay exceeds the 60 s cap, and says why", async () => {
  await withServer(async (server) => {
    const stats = newStats();
    const records = await collect([`${server.url}a`, `${server.url}b`], { robots: true, stats });
    for (const record of records) {
      assert.equal(
        record.error,
        "not fetched: robots.txt asks for a Crawl-delay of 1000000000 s, over the 60 s cap",
      );
    }
    assert.deepEqual(server.requests, ["/robots.txt"]);
    assert.equal(stats.blockedByRobots, 2);
  }, { robots: () => text("User-agent: *\nCrawl-delay: 1e9\n") });
});

Deno.test("crawl() never follows a robots.txt redirect to file: or data:, and reads no local file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Were this file read, its rules would block the page.
    const local = `${dir}/robots.txt`;
    await Deno.writeTextFile(local, "User-agent: *\nDisallow: /\n");
    const targets = [
      new URL(`file://${local}`).href,
      "file:///etc/passwd",
      `data:text/plain,${encodeURIComponent("User-agent: *\nDisallow: /\n")}`,
    ];
    for (const target of targets) {
      await withServer(async (server) => {
        const stats = newStats();
        const [record] = await collect([`${server.url}page`], { robots: true, stats });
        assert.equal(record.error, undefined, `${target}: ${record.error}`);
        assert.equal(record.status, 200);
        assert.equal(stats.blockedByRobots, 0);
      }, { robots: () => new Response(null, { status: 302, headers: { location: target } }) });
    }
    for (const url of [targets[0], targets[2]]) {
      const outcome = await fetchOnce(url, {
        userAgent: "t",
        timeoutMs: 1000,
        maxBytes: 1000,
        parse: "raw",
        selectors: [],
      });
      assert.match(outcome.error!, /^not fetched: only http and https URLs are fetched/);
      assert.equal(outcome.bytes, 0);
      assert.equal(outcome.body, undefined);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl() follows robots.txt redirects up to 5 hops, within the crawl's scope", async () => {
  const chain = (hops: number) => (request: Request) => {
    const hop = Number(new URL(request.url).searchParams.get("hop") ?? 0);
    return hop < hops
      ? new Response(null, { status: 301, headers: { location: `/robots.txt?hop=${hop + 1}` } })
      : text("User-agent: *\nDisallow: /\n");
  };
  for (const [hops, blocked] of [[5, true], [6, false]] as const) {
    await withServer(async (server) => {
      const [record] = await collect([`${server.url}page`], { robots: true });
      // 6 hops: robots.txt is unavailable (RFC 9309 2.3.1.2), which allows everything.
      assert.equal(
        record.error === "disallowed by robots.txt",
        blocked,
        `${hops}: ${record.error}`,
      );
    }, { robots: chain(hops) });
  }
  const other = serveHostile({ robots: () => text("User-agent: *\nDisallow: /\n") });
  try {
    for (const [scope, blocked] of [["same-origin", false], ["same-host", true]] as const) {
      await withServer(async (server) => {
        const [record] = await collect([`${server.url}page`], { robots: true, scope });
        assert.equal(record.error === "disallowed by robots.txt", blocked, `${scope}`);
      }, {
        robots: () =>
          new Response(null, { status: 302, headers: { location: `${other.url}robots.txt` } }),
      });
    }
    // same-origin kept the crawler off the other port; same-host went there once.
    assert.deepEqual(other.requests, ["/robots.txt"]);
  } finally {
    await other.close();
  }
});

Deno.test("crawl() cuts a gzip bomb and an endless body at maxBytes of decoded bytes, with memory bounded", async () => {
  await withServer(async (server) => {
    const maxBytes = 4 * 1024 * 1024;
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 5);
    try {
      const records = await collect([`${server.url}gzip-bomb`, `${server.url}endless`], {
        maxBytes,
        timeoutMs: 20_000,
      });
      for (const record of records) {
        assert.equal(record.bytes, maxBytes, record.url);
        assert.equal(record.error, `body larger than ${maxBytes} bytes: cut there`);
      }
    } finally {
      clearInterval(sampler);
    }
    // The server compressed a few MiB before the crawler hung up, not endless
    // gigabytes. How much more it fills the socket's buffers with (1 MiB of
    // plain text is ~1 KiB gzipped) depends on how busy the machine is: a
    // loaded CI run saw 259 MiB, so the bound is wide.
    assert.ok(server.bomb.plain < 1024 * 1024 * 1024, `${server.bomb.plain} bytes generated`);
    assert.ok(server.bomb.compressed < 1024 * 1024, `${server.bomb.compressed} bytes sent`);
    assert.ok(peak - before < 400 * 1024 * 1024, `rss grew by ${(peak - before) >> 20} MiB`);
  });
});

/** What the URL standard makes of a query's bytes (the special-query percent-encode set). */
function percentEncodeQuery(bytes: Uint8Array): string {
  return [...bytes].map((byte) =>
    byte < 0x21 || byte > 0x7e || `"#'<>`.includes(String.fromCharCode(byte))
      ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
      : String.fromCharCode(byte)
  ).join("");
}

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("crawl() decodes legacy charsets as a browser does, and encodes link queries in them", async () => {
  await withServer(async (server) => {
    const urls: string[] = [];
    const want = new Map<string, { title: string; link: string; encoding: string }>();
    for (const sample of CHARSET_SAMPLES) {
      for (const via of ["header", "meta", "http-equiv"]) {
        const url = `${server.url}charset/${sample.label}?via=${via}`;
        urls.push(url);
        want.set(url, {
          title: sample.text,
          link: `${server.url}p/${encodeURIComponent(sample.text)}?q=${
            percentEncodeQuery(hexBytes(sample.hex))
          }`,
          encoding: new TextDecoder(sample.label).encoding,
        });
      }
    }
    // No declaration at all: windows-1252, the default.
    const latin = CHARSET_SAMPLES.find((s) => s.label === "windows-1252")!;
    const undeclared = `${server.url}charset/windows-1252?via=none`;
    urls.push(undeclared);
    want.set(undeclared, { ...want.get(`${server.url}charset/windows-1252?via=header`)! });
    // UTF-16 with a byte-order mark: the query is UTF-8, as in a UTF-8 page.
    for (const label of ["utf-16le", "utf-16be"]) {
      const url = `${server.url}charset/${label}`;
      urls.push(url);
      const word = encodeURIComponent("Café_中文");
      want.set(url, {
        title: "Café_中文",
        link: `${server.url}p/${word}?q=${word}`,
        encoding: label,
      });
    }
    const records = await collect(urls, { retries: 0 });
    assert.equal(records.length, urls.length);
    const wrong: string[] = [];
    for (const record of records) {
      const expected = want.get(record.url)!;
      const got = { title: record.title, link: record.links[0], encoding: record.encoding };
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        wrong.push(`${record.url}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.equal(latin.text, "Café_crème");
  });
});

Deno.test("crawl() parses 200k nested elements and a page of 100k links in linear time", async () => {
  await withServer(async (server) => {
    const started = performance.now();
    const [nested] = await collect([`${server.url}nested/200000`]);
    // Quadratic parsing took 10 s here; linear takes well under 1 s.
    assert.ok(performance.now() - started < 5_000, `${performance.now() - started} ms`);
    assert.equal(nested.title, "Deep");
    assert.deepEqual(nested.links, [`${server.url}bottom`]);
    const stats = newStats();
    const records = await collect([`${server.url}links/100000`], {
      depth: 1,
      maxPages: 20,
      stats,
    });
    const page = records.find((r) => r.url.endsWith("/links/100000"))!;
    assert.equal(page.links.length, 100_000);
    assert.equal(records.length, 20);
  });
});

Deno.test("crawl() keeps a page's whole cost, parsing included, inside the timeout", async () => {
  await withServer(async (server) => {
    // 40 MiB of <b>x</b>: quick to send, seconds to parse.
    const [record] = await collect([`${server.url}tags/40`], {
      timeoutMs: 500,
      maxBytes: 64 * 1024 * 1024,
      retries: 0,
    });
    assert.match(record.error ?? "", /^timed out after 500 ms (parsing the page|reading the body)/);
    assert.ok(record.elapsedMs < 500 + 3_000, `${record.elapsedMs} ms`);
  });
});

Deno.test("crawl() rejects numeric options outside their range, naming the option", async () => {
  const bad: [keyof CrawlOptions, number][] = [
    ["delayMs", 3_000_000_000],
    ["timeoutMs", 2 ** 31],
    ["timeoutMs", 0],
    ["maxBytes", 0],
    ["maxBytes", 2 ** 40],
    ["processes", 0],
    ["depth", -1],
    ["retries", 1.5],
    ["concurrency", NaN],
    ["perHost", Infinity],
  ];
  for (const [option, value] of bad) {
    await assert.rejects(
      async () => {
        for await (const _ of crawl(["http://127.0.0.1:1/"], { [option]: value })) {
          // Never reached.
        }
      },
      (error: Error) => error instanceof RangeError && error.message.includes(option),
      `${option}: ${value}`,
    );
  }
});

/** A server of a few routes on 127.0.0.1, counting requests by path; unknown paths are 404s. */
function serveRoutes(routes: Record<string, (request: Request) => Response>) {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { pathname } = new URL(request.url);
    hits.set(pathname, (hits.get(pathname) ?? 0) + 1);
    return routes[pathname]?.(request) ?? new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: (path: string) => hits.get(path) ?? 0,
    requests: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () => server.shutdown(),
  };
}

const html = (body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) =>
  new Response(body, { headers: { "content-type": "text/html", ...headers } });

Deno.test("crawl() stops --select matching at the timeout, in the worker and in the main thread", async () => {
  // *:nth-last-child(2) over 30k siblings: 4.5 x 10^8 steps, about 10 s of matching.
  const site = serveRoutes({ "/": () => html("<title>t</title>" + "<p>x</p>".repeat(30_000)) });
  try {
    for (const parse of ["worker", "main"] as const) {
      const started = performance.now();
      const [record] = await collect([`${site.url}/`], {
        parse,
        timeoutMs: 1_000,
        retries: 2,
        selectors: [{ name: "x", css: "*:nth-last-child(2)" }],
      });
      const ms = performance.now() - started;
      assert.equal(
        record.error,
        "timed out after 1000 ms parsing the page (matching --select x)",
        parse,
      );
      assert.equal(record.status, 200);
      assert.equal(record.fields, undefined);
      assert.ok(ms < 1_000 + 4_000, `${parse}: ${Math.round(ms)} ms`);
    }
    assert.equal(site.hits("/"), 2, "a page that took too long to parse is not retried");
  } finally {
    await site.close();
  }
});

Deno.test("crawl() allows everything when robots.txt redirects to a Location that is not a URL", async () => {
  await withServer(async (server) => {
    const stats = newStats();
    const [record] = await collect([`${server.url}page`], { robots: true, stats });
    // RFC 9309 2.3.1.2: a redirect that cannot be followed leaves robots.txt unavailable.
    assert.equal(record.error, undefined);
    assert.equal(record.status, 200);
    assert.equal(stats.robotsUnreachable + stats.blockedByRobots, 0);
  }, { robots: () => new Response(null, { status: 301, headers: { location: "http://[" } }) });
  // A page's redirect to it fails the page, saying so.
  const site = serveRoutes({
    "/": () => new Response(null, { status: 302, headers: { location: "http://[" } }),
  });
  try {
    const [record] = await collect([`${site.url}/`], { retries: 2 });
    assert.equal(record.error, "invalid redirect Location: http://[");
    assert.equal(site.hits("/"), 1);
  } finally {
    await site.close();
  }
});

Deno.test("crawl() does not retry what cannot get better: a broken compressed body, a blocked port", async () => {
  const gzip = new Uint8Array(
    await new Response(
      new Blob(["<title>zipped</title>".repeat(10_000)]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  const site = serveRoutes({
    "/gzip-cut": () => html(gzip.subarray(0, gzip.length >> 1), { "content-encoding": "gzip" }),
    "/gzip-garbage": () => html("this is not gzip", { "content-encoding": "gzip" }),
    "/br-garbage": () => html("nor is this brotli", { "content-encoding": "br" }),
  });
  try {
    const stats = newStats();
    const records = await collect(
      [
        `${site.url}/gzip-cut`,
        `${site.url}/gzip-garbage`,
        `${site.url}/br-garbage`,
        "http://127.0.0.1:9/",
      ],
      { retries: 2, stats },
    );
    const error = (path: string) => records.find((r) => r.url.endsWith(path))!.error;
    assert.match(
      error("/gzip-cut")!,
      /^body could not be decompressed \(unexpected end of file\) \(\d+ bytes read\)$/,
    );
    assert.match(
      error("/gzip-garbage")!,
      /^body could not be decompressed \(.+\) \(0 bytes read\)$/,
    );
    assert.match(error("/br-garbage")!, /^body could not be decompressed \(.+\) \(0 bytes read\)$/);
    assert.equal(
      error(":9/"),
      'not fetched: port 9 is blocked (a "bad port" of the Fetch standard)',
    );
    assert.equal(stats.retries, 0);
    assert.equal(site.requests(), 3);
  } finally {
    await site.close();
  }
  // What Deno's fetch says of a URL it cannot parse is not retried either.
  assert.deepEqual(describeFetchError(new TypeError("Invalid URL: 'http://a b/'"), "response"), {
    message: "invalid URL ('http://a b/')",
    retriable: false,
  });
  assert.deepEqual(describeFetchError(new TypeError("fetch failed"), "response").retriable, true);
});

Deno.test("RobotsTxt reads Crawl-delay as a decimal number of seconds, nothing else", () => {
  const delays: [string, number | undefined][] = [
    ["2", 2],
    ["1.5", 1.5],
    [".5", 0.5],
    ["1e3", 1000],
    ["1e400", Infinity],
    ["0x10", undefined], // Number() reads 16
    ["0b11", undefined], // Number() reads 3
    ["0o7", undefined],
    ["Infinity", undefined],
    ["-1", undefined],
    ["+1", undefined],
    ["1,5", undefined],
    ["", undefined],
  ];
  for (const [value, seconds] of delays) {
    const robots = RobotsTxt.parse(`User-agent: *\nCrawl-delay: ${value}\n`);
    assert.equal(robots.crawlDelay("dmp-crawler/0.1"), seconds, value);
  }
});

Deno.test("crawl() takes no new URL while records wait for the consumer, and goes on when it takes them", async () => {
  const pages = 600;
  const links = Array.from({ length: pages }, (_, i) => `<a href="/p${i}">p</a>`).join("");
  const site = serveRoutes({ "/": () => html(`<title>start</title>${links}`) });
  // The /pN pages are 404s: records all the same.
  try {
    const stats = newStats();
    const records = crawl([`${site.url}/`], {
      ...quick,
      depth: 1,
      concurrency: 4,
      perHost: 4,
      retries: 0,
      stats,
    });
    const first = await records.next();
    assert.equal(first.value?.url, `${site.url}/`);
    // The consumer holds on to its record: the crawl fills its backlog (64
    // records, concurrency x 4 but at least 64), then stops taking URLs.
    const deadline = performance.now() + 20_000;
    while (!(stats.pages >= 1 + 64 && stats.inFlight === 0)) {
      assert.ok(performance.now() < deadline, `stuck at ${stats.pages} records`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const served = site.requests();
    assert.ok(served <= 1 + 64 + 4 + 4, `${served} requests while the consumer waited`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(site.requests(), served, "no request while the backlog is full");
    // Taking records lets it go on, to the end.
    let count = 1;
    for await (const _ of records) count++;
    assert.equal(count, 1 + pages);
  } finally {
    await site.close();
  }
});

Deno.test("crawl() refuses an unknown option, naming the closest, and a string for urls, at the call", () => {
  assert.throws(
    () => crawl(["http://127.0.0.1:1/"], { timeout: 5 } as CrawlOptions),
    (error: Error) =>
      error instanceof TypeError &&
      error.message === "Cannot crawl: unknown option 'timeout'; did you mean 'timeoutMs'?",
  );
  assert.throws(
    () => crawl(["http://127.0.0.1:1/"], { proceses: 2 } as CrawlOptions),
    /unknown option 'proceses'; did you mean 'processes'\?/,
  );
  assert.throws(
    () => crawl("http://127.0.0.1:1/" as unknown as string[]),
    (error: Error) =>
      error instanceof TypeError && /not a string; pass \[url\]/.test(error.message),
  );
  assert.throws(() => crawl(42 as unknown as string[]), TypeError);
  assert.throws(
    () => crawl(["ftp://x/"]),
    /Cannot crawl 'ftp:\/\/x\/': not an absolute http\(s\) URL/,
  );
  assert.throws(() => crawl(["http://127.0.0.1:1/"], { depth: -1 }), RangeError);
});

Deno.test("crawl() cuts long URLs in its messages: redirect targets, loops", async () => {
  const long = "a".repeat(100_000);
  const site = serveRoutes({
    "/far": () => new Response(null, { status: 302, headers: { location: `ftp://x/${long}` } }),
    "/l1": () =>
      new Response(null, { status: 302, headers: { location: `/l2?${"b".repeat(5_000)}` } }),
    "/l2": () => new Response(null, { status: 302, headers: { location: "/l1" } }),
  });
  try {
    const records = await collect([`${site.url}/far`, `${site.url}/l1`]);
    const far = records.find((r) => r.url.endsWith("/far"))!.error!;
    assert.ok(far.startsWith(`redirect to a non-http(s) URL: ftp://x/aaaa`), far.slice(0, 60));
    assert.ok(far.endsWith(`… [${8 + 100_000 - 2048} more characters]`), far.slice(-60));
    const loop = records.find((r) => r.url.endsWith("/l1"))!.error!;
    assert.match(
      loop,
      new RegExp(
        `^redirect loop: ${site.url}/l1 -> ${site.url}/l2\\?b+… \\[\\d+ more characters\\] -> ${site.url}/l1$`,
      ),
    );
    assert.ok(loop.length < 2_200, `${loop.length} characters`);
  } finally {
    await site.close();
  }
});

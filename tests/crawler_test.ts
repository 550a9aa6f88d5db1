import assert from "node:assert/strict";
import { crawl, type CrawlOptions, type CrawlRecord, newStats } from "../crawler/mod.ts";
import { serveDemoSite } from "../crawler/demo_site.ts";
import { parseRetryAfter } from "../crawler/_fetch_task.ts";

const quick: CrawlOptions = { processes: 1, concurrency: 8, backoffMs: 50, timeoutMs: 5_000 };

async function collect(urls: string[], options: CrawlOptions): Promise<CrawlRecord[]> {
  const records: CrawlRecord[] = [];
  for await (const record of crawl(urls, { ...quick, ...options })) records.push(record);
  return records;
}

/** Serves `handler` on 127.0.0.1; returns the base URL and a closer. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`,
    close: () => server.shutdown(),
  };
}

Deno.test("crawl() follows links to the depth asked, in scope, once each, with titles and links", async () => {
  const site = serveDemoSite({ pages: 20 });
  try {
    const stats = newStats();
    const records = await collect([site.url, site.url, `${site.url}#again`], { depth: 1, stats });
    const byUrl = new Map(records.map((r) => [r.url, r]));
    assert.equal(
      records.filter((r) => r.url === site.url).length,
      1,
      "a start URL listed twice is fetched once",
    );
    const home = byUrl.get(site.url)!;
    assert.equal(home.title, "Demo site");
    assert.equal(home.depth, 0);
    assert.ok(home.links.includes(`${site.url}page/0`));
    assert.ok(records.every((r) => r.depth <= 1));
    assert.ok(!byUrl.has("https://elsewhere.invalid/"), "same-host scope");
    assert.ok(stats.duplicates >= 2);
    assert.equal(site.requests.filter((r) => r.path === "/").length, 1);
  } finally {
    await site.close();
  }
});

Deno.test("crawl() stops making records at maxPages", async () => {
  const site = serveDemoSite({ pages: 100 });
  try {
    const records = await collect([site.url], { depth: 10, maxPages: 25 });
    assert.equal(records.length, 25);
    assert.equal(new Set(records.map((r) => r.url)).size, 25);
  } finally {
    await site.close();
  }
});

Deno.test("crawl() obeys robots.txt, fetched once per origin with the crawler's user agent", async () => {
  const site = serveDemoSite({ pages: 5 });
  try {
    const stats = newStats();
    const records = await collect([site.url, `${site.url}private/secret`], {
      stats,
      userAgent: "testbot/1.0",
    });
    const secret = records.find((r) => r.url.endsWith("/private/secret"))!;
    assert.equal(secret.error, "disallowed by robots.txt");
    assert.equal(stats.blockedByRobots, 1);
    assert.ok(!site.requests.some((r) => r.path.startsWith("/private/")));
    assert.equal(site.requests.filter((r) => r.path === "/robots.txt").length, 1);
    assert.ok(site.requests.every((r) => r.userAgent === "testbot/1.0"));
    const ignored = await collect([`${site.url}private/secret`], { robots: false });
    assert.equal(ignored[0].status, 200, "--no-robots");
  } finally {
    await site.close();
  }
});

Deno.test("crawl() treats a 4xx robots.txt as allow-all and a 5xx one as disallow-all", async () => {
  for (const [status, allowed] of [[404, true], [503, false]] as const) {
    const server = serve((req) =>
      new URL(req.url).pathname === "/robots.txt"
        ? new Response("x", { status })
        : new Response("<title>ok</title>", { headers: { "content-type": "text/html" } })
    );
    try {
      const [record] = await collect([`${server.url}page`], { retries: 0 });
      assert.equal(record.error === undefined, allowed, `robots.txt ${status}: ${record.error}`);
    } finally {
      await server.close();
    }
  }
});

Deno.test("crawl() retries 503 with back-off, honouring Retry-After, and never retries a 404", async () => {
  const site = serveDemoSite({ pages: 1 });
  try {
    const stats = newStats();
    const pages = [0, 1, 2, 3].map((n) => `${site.url}page/${n}`);
    const records = await collect([`${site.url}flaky`, `${site.url}missing`, ...pages], {
      stats,
      retries: 2,
      perHost: 1,
    });
    // A job waiting out its Retry-After does not hold up the others of its host.
    const order = site.requests.map((r) => r.path);
    assert.ok(order.lastIndexOf("/page/3") < order.lastIndexOf("/flaky"), `${order}`);
    const flaky = records.find((r) => r.url.endsWith("/flaky"))!;
    assert.equal(flaky.status, 200);
    assert.equal(flaky.title, "Flaky");
    const attempts = site.requests.filter((r) => r.path === "/flaky").map((r) => r.at);
    assert.equal(attempts.length, 3);
    // Retry-After: 1 (second) outweighs the 50 ms back-off.
    assert.ok(attempts[1] - attempts[0] >= 900 && attempts[2] - attempts[1] >= 900, `${attempts}`);
    assert.equal(site.requests.filter((r) => r.path === "/missing").length, 1);
    assert.equal(records.find((r) => r.url.endsWith("/missing"))!.error, "HTTP 404");
    assert.equal(stats.retries, 2);
  } finally {
    await site.close();
  }
});

Deno.test("crawl() gives up after --retries, with exponential back-off between attempts", async () => {
  const times: number[] = [];
  const server = serve((req) => {
    if (new URL(req.url).pathname === "/robots.txt") return new Response("", { status: 404 });
    times.push(performance.now());
    return new Response("down", { status: 500 });
  });
  try {
    const [record] = await collect([`${server.url}x`], { retries: 3, backoffMs: 40 });
    assert.equal(record.status, 500);
    assert.equal(times.length, 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps[0] >= 35 && gaps[1] >= 75 && gaps[2] >= 150, `gaps ${gaps}`);
  } finally {
    await server.close();
  }
});

Deno.test("crawl() follows redirects and reports loops and out-of-scope hops", async () => {
  const site = serveDemoSite({ pages: 3 });
  const chain = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/robots.txt") return new Response("", { status: 404 });
    const n = Number(path.slice(1));
    if (path === "/away") return Response.redirect("http://localhost:1/elsewhere", 302);
    return n < 12
      ? Response.redirect(new URL(`/${n + 1}`, req.url), 302)
      : new Response("<title>end</title>", { headers: { "content-type": "text/html" } });
  });
  try {
    const records = await collect([`${site.url}moved`, `${site.url}loop-a`], {});
    const moved = records.find((r) => r.url.endsWith("/moved"))!;
    assert.equal(moved.finalUrl, `${site.url}page/1`);
    assert.equal(moved.title, "Page 1");
    assert.match(records.find((r) => r.url.endsWith("/loop-a"))!.error!, /redirect loop/);
    const [far] = await collect([`${chain.url}0`], {});
    assert.match(far.error!, /more than 10 redirects/);
    const [near] = await collect([`${chain.url}3`], {});
    assert.equal(near.title, "end");
    const [away] = await collect([`${chain.url}away`], {});
    assert.match(away.error!, /redirect out of scope/);
  } finally {
    await site.close();
    await chain.close();
  }
});

Deno.test("crawl() caps bodies at maxBytes while streaming, and records non-HTML without parsing", async () => {
  const server = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/robots.txt") return new Response("", { status: 404 });
    if (path === "/big") {
      // An endless body: only the cap ends it.
      const body = new ReadableStream({
        pull(controller) {
          controller.enqueue(new TextEncoder().encode("<p>" + "x".repeat(16_000) + "</p>"));
        },
      });
      return new Response(body, { headers: { "content-type": "text/html" } });
    }
    return new Response(new Uint8Array(100), { headers: { "content-type": "image/png" } });
  });
  try {
    const [big] = await collect([`${server.url}big`], { maxBytes: 100_000 });
    assert.equal(big.bytes, 100_000);
    assert.match(big.error!, /larger than 100000 bytes/);
    const [png] = await collect([`${server.url}logo.png`], {});
    assert.deepEqual([png.status, png.contentType, png.title, png.links, png.bytes], [
      200,
      "image/png",
      null,
      [],
      100,
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("crawl() holds per-host concurrency and delay, and Crawl-delay raises the delay", async () => {
  let active = 0;
  let peak = 0;
  const times: number[] = [];
  const server = serve(async (req) => {
    if (new URL(req.url).pathname === "/robots.txt") {
      return new Response("User-agent: *\nCrawl-delay: 0.15\n");
    }
    active++;
    peak = Math.max(peak, active);
    times.push(performance.now());
    await new Promise((resolve) => setTimeout(resolve, 20));
    active--;
    return new Response("<title>t</title>", { headers: { "content-type": "text/html" } });
  });
  try {
    const urls = Array.from({ length: 5 }, (_, i) => `${server.url}p${i}`);
    await collect(urls, { perHost: 1, delayMs: 50 });
    assert.equal(peak, 1);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps.every((g) => g >= 140), `gaps ${gaps.map(Math.round)}`);
  } finally {
    await server.close();
  }
});

Deno.test("crawl() times requests out, and --select and --parse main give the same records", async () => {
  const site = serveDemoSite({ pages: 3, slowMs: 2_000 });
  try {
    const [slow] = await collect([`${site.url}slow`], { timeoutMs: 100, retries: 0 });
    assert.match(slow.error!, /timed out after 100 ms/);
    const selectors = [{ name: "heading", css: "h1" }, { name: "first", css: "a", attr: "href" }];
    const inWorker = await collect([site.url], { selectors, parse: "worker" });
    const inMain = await collect([site.url], { selectors, parse: "main" });
    assert.deepEqual(inWorker[0].fields, { heading: "Demo site", first: "/page/0" });
    const strip = (r: CrawlRecord) => ({ ...r, elapsedMs: 0 });
    assert.deepEqual(inMain.map(strip), inWorker.map(strip));
  } finally {
    await site.close();
  }
});

Deno.test("crawl() does not let a job waiting out Retry-After hold up its host's queue", async () => {
  const site = serveDemoSite({ pages: 10 });
  try {
    // /flaky fails first; the links found on / then queue up behind its retry.
    await collect([`${site.url}flaky`, site.url], { depth: 1, perHost: 1, retries: 2 });
    const flaky = site.requests.filter((r) => r.path === "/flaky").map((r) => r.at);
    const pagesBetween = site.requests.filter((r) =>
      r.path.startsWith("/page/") && r.at > flaky[0] && r.at < flaky[1]
    );
    assert.ok(pagesBetween.length >= 5, `${pagesBetween.length} pages fetched during the wait`);
  } finally {
    await site.close();
  }
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  const now = Date.now();
  const fromDate = parseRetryAfter(new Date(now + 2000).toUTCString(), now)!;
  assert.ok(fromDate > 0 && fromDate <= 2000, `${fromDate}`);
  assert.equal(parseRetryAfter("soon"), null);
  assert.equal(parseRetryAfter(null), null);
});

Deno.test("crawl() stopped by its signal ends although a page in flight brings links after the stop", async () => {
  const controller = new AbortController();
  const requested: string[] = [];
  const server = serve((req) => {
    const path = new URL(req.url).pathname;
    requested.push(path);
    const html = (body: string) => new Response(body, { headers: { "content-type": "text/html" } });
    if (path === "/robots.txt") return new Response("", { status: 404 });
    if (path === "/") return html(`<a href="/slow">slow</a><a href="/queued">queued</a>`);
    if (path === "/slow") {
      // The crawl stops while this page is in flight; its links arrive after the stop.
      controller.abort();
      return html(`<title>slow</title><a href="/found-late">late</a>`);
    }
    return html("<title>other</title>");
  });
  try {
    const records = await collect([server.url], {
      depth: 3,
      perHost: 1,
      signal: controller.signal,
    });
    assert.deepEqual(records.map((r) => new URL(r.url).pathname).sort(), ["/", "/slow"]);
    assert.equal(records.find((r) => r.url.endsWith("/slow"))!.title, "slow");
    assert.ok(!requested.includes("/found-late") && !requested.includes("/queued"), `${requested}`);
  } finally {
    await server.close();
  }
});

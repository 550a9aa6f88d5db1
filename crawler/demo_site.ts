// A generated web site served on 127.0.0.1, for the demo and the tests: linked
// pages, a robots.txt rule, 404/500/flaky/slow/redirect pages and a non-HTML
// asset. It records every request it gets, per path and with timestamps.

import { setSafeTimeout } from "./_timer.ts";

/** A running site. */
export interface DemoSite {
  /** Base URL, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** Requests received, in order. */
  requests: { path: string; at: number; userAgent: string | null }[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options of {@linkcode serveDemoSite}. */
export interface DemoSiteOptions {
  /** Linked pages. @default {300} */
  pages?: number;
  /** robots.txt body, or null for a 404. */
  robots?: string | null;
  /** Milliseconds /slow waits. @default {300} */
  slowMs?: number;
}

/** Serves the site on a free port of 127.0.0.1. */
export function serveDemoSite(options: DemoSiteOptions = {}): DemoSite {
  const pages = options.pages ?? 300;
  const robots = options.robots === undefined
    ? "User-agent: *\nDisallow: /private/\n"
    : options.robots;
  const slowMs = options.slowMs ?? 300;
  const requests: DemoSite["requests"] = [];
  const flaky = new Map<string, number>();
  const html = (title: string, body: string, status = 200) =>
    new Response(
      `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`,
      {
        status,
        headers: { "content-type": "text/html; charset=utf-8" },
      },
    );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const { pathname } = new URL(req.url);
    requests.push({
      path: pathname,
      at: performance.now(),
      userAgent: req.headers.get("user-agent"),
    });
    if (pathname === "/robots.txt") {
      return robots === null ? new Response("no", { status: 404 }) : new Response(robots);
    }
    if (pathname === "/") {
      const links = Array.from(
        { length: Math.min(pages, 10) },
        (_, i) => `<a href="/page/${i}">Page ${i}</a>`,
      );
      return html(
        "Demo site",
        `<h1>Demo site</h1>${links.join(" ")} <a href="/private/secret">secret</a>
        <a href="/missing">missing</a> <a href="/broken">broken</a> <a href="/flaky">flaky</a>
        <a href="/slow">slow</a> <a href="/moved">moved</a> <a href="/loop-a">loop</a>
        <a href="/report.pdf">report</a> <a href="https://elsewhere.invalid/">elsewhere</a>`,
      );
    }
    const page = /^\/page\/(\d+)$/.exec(pathname);
    if (page) {
      const n = Number(page[1]);
      if (n >= pages) return html("Not found", "no such page", 404);
      const next = [n * 2 + 1, n * 2 + 2, (n + 7) % pages].filter((k) => k < pages);
      return html(
        `Page ${n}`,
        `<p>Page ${n}</p>${
          next.map((k) => `<a href="/page/${k}#top">${k}</a>`).join(" ")
        }<a href="/">home</a>`,
      );
    }
    switch (pathname) {
      case "/missing":
        return html("Not found", "gone", 404);
      case "/broken":
        return html("Error", "server error", 500);
      case "/flaky": {
        // Fails twice with 503 + Retry-After, then works.
        const count = (flaky.get(pathname) ?? 0) + 1;
        flaky.set(pathname, count);
        if (count <= 2) {
          return new Response("busy", { status: 503, headers: { "retry-after": "1" } });
        }
        return html("Flaky", "worked on the third try");
      }
      case "/slow":
        await new Promise<void>((resolve) => setSafeTimeout(resolve, slowMs));
        return html("Slow", "finally");
      case "/moved":
        return Response.redirect(new URL("/page/1", req.url), 301);
      case "/loop-a":
        return Response.redirect(new URL("/loop-b", req.url), 302);
      case "/loop-b":
        return Response.redirect(new URL("/loop-a", req.url), 302);
      case "/report.pdf":
        return new Response(new Uint8Array(2048), {
          headers: { "content-type": "application/pdf" },
        });
      case "/private/secret":
        return html("Secret", "robots.txt should have kept you out");
    }
    return html("Not found", "no such page", 404);
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => server.shutdown(),
  };
}

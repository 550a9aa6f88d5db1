// Crawlee's CheerioCrawler on the same URL list, concurrency 16.
// Usage: node crawlee_crawl.mjs URLS_FILE -> prints {"pages": N, "seconds": S}
import { readFileSync } from "node:fs";
import { CheerioCrawler, Configuration, log } from "crawlee";

log.setLevel(log.LEVELS.OFF);
const urls = readFileSync(process.argv[2], "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
let pages = 0;
const crawler = new CheerioCrawler({
  maxConcurrency: 16,
  minConcurrency: 16,
  maxRequestRetries: 2,
  requestHandler: async ({ $, request }) => {
    const title = $("title").first().text();
    const links = new Set();
    $("a[href], area[href]").each((_, el) => {
      try {
        const url = new URL($(el).attr("href"), request.loadedUrl);
        url.hash = "";
        links.add(url.href);
      } catch { /* invalid */ }
    });
    pages += title !== undefined && links.size >= 0 ? 1 : 0;
  },
  failedRequestHandler: () => {
    pages++;
  },
}, new Configuration({ persistStorage: false, purgeOnStart: true }));
const start = performance.now();
await crawler.run(urls.map((url) => ({ url, uniqueKey: url })));
console.log(JSON.stringify({ pages, seconds: (performance.now() - start) / 1000 }));

// Crawlee's CheerioCrawler following links from one start URL, as a user
// writes it: enqueueLinks() on every page (all hosts), in-memory storage,
// 16 requests in flight, stopping at MAX_PAGES requests.
// Usage: node crawlee_follow.mjs START_URL MAX_PAGES -> prints {"pages": N, "seconds": S}
import { CheerioCrawler, Configuration, log } from "crawlee";

log.setLevel(log.LEVELS.OFF);
const [start, maxPages] = [process.argv[2], Number(process.argv[3])];
let pages = 0;
const crawler = new CheerioCrawler({
  maxConcurrency: 16,
  minConcurrency: 16,
  maxRequestRetries: 2,
  maxRequestsPerCrawl: maxPages,
  requestHandler: async ({ $, enqueueLinks }) => {
    $("title").first().text();
    pages++;
    await enqueueLinks({ strategy: "all" });
  },
  failedRequestHandler: () => {
    pages++;
  },
}, new Configuration({ persistStorage: false, purgeOnStart: true }));
const started = performance.now();
await crawler.run([start]);
console.log(JSON.stringify({ pages, seconds: (performance.now() - started) / 1000 }));

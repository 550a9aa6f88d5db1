// The crawler's peak memory as its frontier grows: a synthetic web of 1,000
// hosts (ports of 127.0.0.1) whose pages each link to 100 random pages (80 of
// their host, 20 of others), so that a crawl discovers URLs ~100 times faster
// than it fetches them. The crawler runs as `deno task crawl`; this script
// counts the distinct URLs the pages served so far have linked to (what the
// crawler has discovered), samples the resident memory of the crawler's
// process tree every 50 ms, and prints the peak at 10k, 100k, 1M and 2M
// discovered URLs, then stops the crawl (SIGINT).
//
// Usage: deno task bench:crawl-rss [--mode sqlite|redis|memory] [--up-to N]
// (default sqlite, up to 2,000,000). With --state the frontier is in the file
// (or in Redis), so the peak should level off; in memory it keeps growing.
import { startRedis } from "../tests/fixtures/redis_server.ts";
import { treeRss } from "./_rss.ts";
import { crawlerArgs } from "./_crawl_command.ts";

const args = Deno.args;
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const mode = flag("--mode") ?? "sqlite";
const upTo = Number(flag("--up-to") ?? 2_000_000);
const HOSTS = 1000;
const PAGES = 10_000; // per host: 10M URLs to discover
const LINKS = 100;
const marks = [10_000, 100_000, 1_000_000, 2_000_000, 4_000_000].filter((m) => m <= upTo);

let seed = 12345;
const next = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const discovered = new Set<string>();
const ports: number[] = [];
const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
for (let h = 0; h < HOSTS; h++) {
  const host = h;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (!path.startsWith("/p/")) return new Response("none", { status: 404 });
    const links: string[] = [];
    for (let i = 0; i < LINKS; i++) {
      const other = i < 80 ? host : Math.floor(next() * HOSTS);
      const url = `http://127.0.0.1:${ports[other]}/p/${Math.floor(next() * PAGES)}`;
      links.push(`<a href="${url}">${i}</a>`);
      discovered.add(url);
    }
    return new Response(`<title>${path}</title>${links.join("")}`, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  });
  servers.push(server);
  ports.push(server.addr.port);
}

const dir = await Deno.makeTempDir({ prefix: "crawl-rss-" });
const redis = mode === "redis" ? await startRedis() : undefined;
if (mode === "redis" && !redis) throw new Error("redis-server is not installed");
const state = mode === "sqlite"
  ? ["--state", `${dir}/state.db`]
  : mode === "redis"
  ? ["--state", redis!.url]
  : [];
await Deno.writeTextFile(`${dir}/urls.txt`, `http://127.0.0.1:${ports[0]}/p/0\n`);
const child = new Deno.Command(Deno.execPath(), {
  args: [
    ...crawlerArgs,
    `${dir}/urls.txt`,
    "--quiet",
    "--depth",
    "1000000",
    "--scope",
    "any",
    "--concurrency",
    "16",
    "--per-host",
    "4",
    "--out",
    `${dir}/out.jsonl`,
    ...state,
  ],
  stdout: "null",
  stderr: "piped",
}).spawn();
const stderr = new Response(child.stderr).text();
const started = performance.now();
let peak = 0;
const rows: string[] = [];
let stopped = false;
await new Promise<void>((resolve) => {
  const sampler = setInterval(() => {
    peak = Math.max(peak, treeRss(child.pid));
    while (marks.length > 0 && discovered.size >= marks[0]) {
      const mark = marks.shift()!;
      rows.push(
        `| ${mark.toLocaleString("en")} | ${(peak / 1e6).toFixed(0)} MB | ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s |`,
      );
      console.error(rows.at(-1));
    }
    if (marks.length === 0 && !stopped) {
      stopped = true;
      child.kill("SIGINT");
    }
  }, 50);
  child.status.then(() => {
    clearInterval(sampler);
    resolve();
  });
});
const log = await stderr;
for (const server of servers) await server.shutdown();
await redis?.close();
await Deno.remove(dir, { recursive: true });
console.log(
  `Peak RSS of the crawler (${mode}${mode === "memory" ? "" : " state"}) by URLs discovered; ` +
    `${HOSTS} hosts, ${LINKS} links a page, ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| URLs discovered | peak RSS so far | time |");
console.log("|---|---|---|");
for (const row of rows) console.log(row);
if (marks.length > 0) {
  console.log(`\nThe crawl ended before ${marks[0]} URLs:\n${log.slice(-1000)}`);
}

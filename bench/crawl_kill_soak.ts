// `deno task bench:crawl-soak`: the long version of the kill -9 tests of
// tests/crawler_state_test.ts and tests/crawler_redis_test.ts: a crawl of
// 10,000 pages (10 hosts x 1,000) killed with -9 ten times at random moments
// and resumed each time, on SQLite (one process) and on Redis (three
// processes, killed and restarted at random). Checks that the union of the
// outputs has every page exactly once, no half line, and that the fetches
// beyond one per page stay within the requests in flight at the kills.
// Usage: deno task bench:crawl-soak [--kills N] [--hosts N] [--pages N] [--seed N]
import { killAndResume } from "../tests/fixtures/kill_resume.ts";
import { startRedis } from "../tests/fixtures/redis_server.ts";

const flag = (name: string, fallback: number) => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
};
const kills = flag("--kills", 10);
const hosts = flag("--hosts", 10);
const pages = flag("--pages", 1000);
const seed = flag("--seed", Date.now() % 100_000);
let failed = false;

async function scenario(name: string, state: string, processes: number) {
  const started = performance.now();
  const report = await killAndResume({ state, processes, kills, hosts, pages, seed });
  const urls = report.records.map((r) => r.url);
  const expected = new Set(report.web.urls());
  const problems: string[] = [...report.broken];
  if (report.exits.some((code) => code !== 0)) problems.push(`exit codes ${report.exits}`);
  if (new Set(urls).size !== urls.length) problems.push("a URL recorded twice");
  if (new Set(urls).size !== expected.size || urls.some((url) => !expected.has(url))) {
    problems.push(`${new Set(urls).size} of ${expected.size} pages recorded`);
  }
  if (report.extraFetches > report.inFlightBound) {
    problems.push(`${report.extraFetches} extra fetches, over ${report.inFlightBound}`);
  }
  console.log(
    `${name}: ${report.kills} kills, ${urls.length} records of ${expected.size} pages, ` +
      `${report.extraFetches} extra fetches (bound ${report.inFlightBound}), ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s: ${
        problems.length ? problems.join("; ") : "ok"
      }`,
  );
  if (problems.length) {
    failed = true;
    console.log(report.stderr.slice(-4000));
  }
}

console.log(`seed ${seed}`);
const dir = await Deno.makeTempDir({ prefix: "kill-soak-" });
try {
  await scenario("SQLite, 1 process", `${dir}/crawl.db`, 1);
} finally {
  await Deno.remove(dir, { recursive: true });
}
const redis = await startRedis();
if (redis) {
  try {
    await scenario("Redis, 3 processes", redis.url, 3);
  } finally {
    await redis.close();
  }
} else console.log("Redis: skipped, redis-server is not installed");
Deno.exit(failed ? 1 : 0);

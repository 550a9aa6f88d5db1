// `deno task bench:crawl`: the crawler against Crawlee and Scrapy, in one run.
//
// 1. The corpus: real pages served on loopback (the 15 pages vendored in
//    tests/fixtures/corpus x 8 copies, or --corpus DIR), a list of URLs, against
//    Crawlee's CheerioCrawler (concurrency 16) and the seeds' Python design (a
//    multiprocessing Pool with urllib, html.parser in the callback).
// 2. The synthetic web: 200 hosts (ports) x 500 pages on loopback, each page
//    linking to 8 pages of its host and 2 of others; every crawler starts
//    from one page and follows links until --pages pages, 16 requests in
//    flight: this crawler in memory, with --state on SQLite, with --state on
//    Redis (one process; skipped without redis-server), Crawlee's
//    CheerioCrawler (enqueueLinks, in-memory storage) and Scrapy (Debian's
//    /usr/bin/python3, in-memory scheduler).
//
// Peak memory is the resident set of each crawler's process tree, sampled
// every 50 ms. Usage:
//   deno task bench:crawl [--pages N] [--ours-pages N] [--only corpus|web] [--no-anchors]
//                         [--corpus DIR] [--repeat N]
// --corpus: a folder of pages as mozilla/readability's test-pages are laid
// out (DIR/NAME/source.html), instead of the vendored 15;
// --pages: pages of the synthetic web crawl (default 20000); --ours-pages:
// the same for this crawler's three modes only (default --pages), so that
// ours can run at 100k while the anchors run at 20k; --repeat: runs of each
// of this crawler's three modes on the synthetic web (default 3), taken in
// turn (memory, SQLite, Redis, memory, ...) so that a drift of the machine's
// speed falls on all three; the table gives each mode's median run, and every
// run's rate is printed below it. The anchors run once (minutes each).
import { startRedis } from "../tests/fixtures/redis_server.ts";
import { serveSyntheticWeb } from "../tests/fixtures/synthetic_web.ts";
import { treeRss } from "./_rss.ts";
import { crawlerArgs } from "./_crawl_command.ts";

const args = Deno.args;
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const webPages = Number(flag("--pages") ?? 20_000);
const oursPages = Number(flag("--ours-pages") ?? webPages);
const only = flag("--only");
const corpusDir = flag("--corpus");
const anchorsToo = !args.includes("--no-anchors");
const repeat = Number(flag("--repeat") ?? 3);
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 25) {
  console.error(`--repeat must be a whole number from 1 to 25, not '${flag("--repeat")}'`);
  Deno.exit(2);
}
const anchors = new URL("anchors/", import.meta.url);

interface Result {
  name: string;
  seconds?: number;
  pages?: number;
  pagesPerSecond?: number;
  peakMB?: number;
  skipped?: string;
}

/** Runs a crawler; `pages` counts what it did (by default the fetches asked). */
async function measure(
  name: string,
  cmd: string,
  cmdArgs: string[],
  options: { cwd?: URL; pages: number | ((stdout: string) => Promise<number> | number) },
): Promise<Result> {
  const started = performance.now();
  let child;
  try {
    child = new Deno.Command(cmd, {
      args: cmdArgs,
      cwd: options.cwd,
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch (error) {
    return { name, skipped: (error as Error).message };
  }
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, treeRss(child.pid)), 50);
  const out = await child.output();
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) {
    return { name, skipped: new TextDecoder().decode(out.stderr).slice(-300) };
  }
  const stdout = new TextDecoder().decode(out.stdout);
  const pages = typeof options.pages === "number" ? options.pages : await options.pages(stdout);
  return { name, seconds, pages, pagesPerSecond: pages / seconds, peakMB: peak / 1e6 };
}

/** The run of median rate (the lower middle one for an even count); a failed run, if any, instead. */
function median(runs: Result[]): Result {
  const failed = runs.find((r) => r.skipped !== undefined);
  if (failed) return failed;
  const sorted = [...runs].sort((a, b) => a.pagesPerSecond! - b.pagesPerSecond!);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function table(results: Result[], reference: Result) {
  console.log("| crawler | pages | pages/s | ours / theirs | peak memory |");
  console.log("|---|---|---|---|---|");
  for (const r of results) {
    if (r.skipped !== undefined) {
      console.log(`| ${r.name} | skipped: ${String(r.skipped).trim().split("\n").pop()} | | | |`);
    } else {
      console.log(
        `| ${r.name} | ${r.pages} | ${r.pagesPerSecond!.toFixed(0)} | ${
          (reference.pagesPerSecond! / r.pagesPerSecond!).toFixed(2)
        }x | ${r.peakMB!.toFixed(0)} MB |`,
      );
    }
  }
}

async function corpusBench() {
  const corpus = corpusDir === undefined
    ? new URL("../tests/fixtures/corpus/", import.meta.url)
    : new URL(`file://${await Deno.realPath(corpusDir)}/`);
  console.error(`Corpus: ${corpus.pathname}`);
  const COPIES = 8;
  const pages = new Map<string, Uint8Array<ArrayBuffer>>();
  for await (const entry of Deno.readDir(corpus)) {
    if (entry.isDirectory) {
      pages.set(entry.name, await Deno.readFile(new URL(`${entry.name}/source.html`, corpus)));
    }
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const match = /^\/c\d+\/([^/]+)\/$/.exec(new URL(req.url).pathname);
    const body = match && pages.get(match[1]);
    return body
      ? new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } })
      : new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  const dir = await Deno.makeTempDir();
  const urlsFile = `${dir}/urls.txt`;
  const urls = [];
  for (let c = 0; c < COPIES; c++) {
    for (const name of pages.keys()) urls.push(`${base}/c${c}/${name}/`);
  }
  await Deno.writeTextFile(urlsFile, urls.join("\n") + "\n");
  const results: Result[] = [];
  for (const parse of ["worker", "main"]) {
    results.push(
      await measure(`this project (--parse ${parse})`, Deno.execPath(), [
        ...crawlerArgs,
        urlsFile,
        "--quiet",
        "--out",
        "/dev/null",
        "--concurrency",
        "16",
        "--per-host",
        "16",
        "--parse",
        parse,
      ], { pages: urls.length }),
    );
  }
  if (anchorsToo) {
    results.push(
      await measure("Crawlee CheerioCrawler", "node", ["crawlee_crawl.mjs", urlsFile], {
        cwd: anchors,
        pages: urls.length,
      }),
    );
    results.push(
      await measure(
        "Python Pool + urllib + html.parser",
        "python3",
        ["python_crawl.py", urlsFile],
        { cwd: anchors, pages: urls.length },
      ),
    );
  }
  await server.shutdown();
  await Deno.remove(dir, { recursive: true });
  console.log(
    `\n${urls.length} fetches of ${pages.size} corpus pages on loopback, ${navigator.hardwareConcurrency} cores\n`,
  );
  table(results, results[0]);
}

async function webBench() {
  const web = serveSyntheticWeb({ hosts: 200, pages: 500 });
  const dir = await Deno.makeTempDir();
  const urlsFile = `${dir}/urls.txt`;
  await Deno.writeTextFile(urlsFile, `${web.start}\n`);
  const redis = await startRedis();
  const lines = async (file: string) => {
    let n = 0;
    for (const c of await Deno.readFile(file)) if (c === 10) n++;
    return n;
  };
  const ours = (name: string, state: string[]) =>
    measure(name, Deno.execPath(), [
      ...crawlerArgs,
      urlsFile,
      "--quiet",
      "--depth",
      "1000000",
      "--scope",
      "any",
      "--max-pages",
      String(oursPages),
      "--concurrency",
      "16",
      "--per-host",
      "16",
      "--out",
      `${dir}/out.jsonl`,
      ...state,
    ], { pages: () => lines(`${dir}/out.jsonl`) });
  const results: Result[] = [];
  const modes = ["this project, in memory", "this project, --state SQLite"];
  const redisMode = "this project, --state Redis (1 process)";
  if (redis) modes.push(redisMode);
  // Each run starts a new crawl: its own state file, its own job in Redis.
  const stateOf = (mode: number, run: number) =>
    mode === 0 ? [] : mode === 1 ? ["--state", `${dir}/state-${run}.db`] : [
      "--state",
      redis!.url,
      "--job",
      `bench-${run}`,
    ];
  const runs: Result[][] = modes.map(() => []);
  try {
    for (let run = 0; run < repeat; run++) {
      for (const [i, mode] of modes.entries()) runs[i].push(await ours(mode, stateOf(i, run)));
    }
    for (const modeRuns of runs) results.push(median(modeRuns));
    if (!redis) results.push({ name: redisMode, skipped: "redis-server not installed" });
    if (anchorsToo) {
      const json = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!).pages;
      results.push(
        await measure(
          "Crawlee CheerioCrawler (enqueueLinks, in memory)",
          "node",
          ["crawlee_follow.mjs", web.start, String(webPages)],
          { cwd: anchors, pages: json },
        ),
      );
      results.push(
        await measure(
          "Scrapy (in-memory scheduler)",
          "/usr/bin/python3",
          ["scrapy_follow.py", web.start, String(webPages)],
          { cwd: anchors, pages: json },
        ),
      );
    }
  } finally {
    await redis?.close();
    await web.close();
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `\nThe synthetic web (200 hosts x 500 pages on loopback), following links from one page, 16 in flight; ` +
      `${navigator.hardwareConcurrency} cores\n`,
  );
  table(results, results[0]);
  if (repeat > 1) {
    console.log(
      `\nThis project's rows: the median of ${repeat} runs taken in turn; pages/s of each run:`,
    );
    for (const [i, mode] of modes.entries()) {
      console.log(
        `- ${mode}: ${
          runs[i].map((r) => r.skipped !== undefined ? "failed" : r.pagesPerSecond!.toFixed(0))
            .join(", ")
        }`,
      );
    }
  }
  const rate = (i: number) => results[i]?.pagesPerSecond;
  const memory = rate(0);
  if (memory) {
    console.log("\nTargets (from the issue):");
    const check = (label: string, value: number | undefined, target: number) =>
      console.log(
        `- ${label}: ${value === undefined ? "n/a" : value.toFixed(2)} (target >= ${target}) ${
          value === undefined ? "" : value >= target ? "ok" : "MISSED"
        }`,
      );
    check("SQLite / memory", rate(1) && rate(1)! / memory, 0.7);
    check("Redis / memory", rate(2) && rate(2)! / memory, 0.5);
    for (const [i, anchor, target] of [[3, "Crawlee", 5], [4, "Scrapy", 10]] as const) {
      for (const [j, mode] of [[0, "memory"], [1, "SQLite"], [2, "Redis"]] as const) {
        const ours = rate(j);
        const theirs = rate(i);
        check(`${mode} / ${anchor}`, ours && theirs && ours / theirs, target);
      }
    }
  }
}

if (only !== "web") await corpusBench();
if (only !== "corpus") await webBench();

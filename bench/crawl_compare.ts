// `deno task bench:crawl`: crawl throughput on the real corpus served on
// loopback (130 pages x 8 copies, ~1000 fetches; 15 x 8 with the vendored subset), against Crawlee's
// CheerioCrawler (concurrency 16) and the seeds' Python design (a
// multiprocessing Pool with urllib, html.parser in the callback), in one run.
// Peak memory is the resident set of each crawler's process tree.

// The full corpus (130 pages) where the development machines keep it; else the
// 15 pages vendored for the tests (the figures are then not comparable).
const fullCorpus = new URL("../../shared/corpus/readability-pages/", import.meta.url);
const corpus = await Deno.stat(fullCorpus).then(() => fullCorpus).catch(() =>
  new URL("../tests/fixtures/corpus/", import.meta.url)
);
console.error(`Corpus: ${corpus.pathname}`);
const anchors = new URL("anchors/", import.meta.url);
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

/** Resident memory (bytes) of `pid` and all its descendants. */
function treeRss(pid: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      rss.set(Number(entry.name), Number(fields[21]) * 4096);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
    } catch { /* gone */ }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

async function measure(name: string, cmd: string, args: string[], cwd?: URL) {
  const started = performance.now();
  let child;
  try {
    child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
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
  return { name, seconds, pagesPerSecond: urls.length / seconds, peakMB: peak / 1e6 };
}

const results = [];
for (const parse of ["worker", "main"]) {
  results.push(
    await measure(`this project (--parse ${parse})`, Deno.execPath(), [
      "run",
      "-A",
      new URL("../crawler/cli.ts", import.meta.url).pathname,
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
    ]),
  );
}
results.push(
  await measure("Crawlee CheerioCrawler", "node", ["crawlee_crawl.mjs", urlsFile], anchors),
);
results.push(
  await measure(
    "Python Pool + urllib + html.parser",
    "python3",
    ["python_crawl.py", urlsFile],
    anchors,
  ),
);
await server.shutdown();
await Deno.remove(dir, { recursive: true });

const ours = results[0] as { pagesPerSecond: number; peakMB: number };
console.log(
  `${urls.length} fetches of ${pages.size} corpus pages on loopback, ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| crawler | pages/s | ours / theirs | peak memory |");
console.log("|---|---|---|---|");
for (const r of results) {
  if ("skipped" in r) {
    console.log(`| ${r.name} | skipped: ${String(r.skipped).split("\n").pop()} | | |`);
  } else {
    console.log(
      `| ${r.name} | ${r.pagesPerSecond!.toFixed(0)} | ${
        (ours.pagesPerSecond / r.pagesPerSecond!).toFixed(2)
      }x | ${r.peakMB!.toFixed(0)} MB |`,
    );
  }
}

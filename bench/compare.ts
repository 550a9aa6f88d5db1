// `deno task bench`: the same Pool workloads on this project, on Python 3's
// multiprocessing.Pool(2) and on piscina 5 (Node, 2 threads), in one run.
// Installs piscina into bench/anchors/ if needed; skips an anchor it cannot run.
// Prints a Markdown table of values and ratios (also saved to bench/results/),
// and draws the ratios in docs/benchmarks.svg.
import { type ChartBar, ratioChart } from "./_chart.ts";
import { netTable } from "./_net_table.ts";

interface Row {
  workload: string;
  value: number;
  unit: string;
}

const here = new URL(".", import.meta.url);
const anchors = new URL("anchors/", here);

async function run(cmd: string, args: string[], cwd: URL): Promise<Map<string, Row> | string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `exit ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-300)}`;
    }
    const rows = new Map<string, Row>();
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (line.startsWith("{")) {
        const row = JSON.parse(line) as Row;
        rows.set(row.workload, row);
      }
    }
    return rows;
  } catch (error) {
    return (error as Error).message;
  }
}

async function ensurePiscina(): Promise<boolean> {
  try {
    await Deno.stat(new URL("node_modules/piscina/package.json", anchors));
    return true;
  } catch {
    console.error("Installing piscina into bench/anchors ...");
    const out = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund"],
      cwd: anchors,
      stdout: "null",
      stderr: "inherit",
    }).output().catch(() => ({ success: false }));
    return out.success;
  }
}

console.error("Running this project's Pool (web backend, then node backend) ...");
const ours = await run(Deno.execPath(), ["run", "-A", "pool_workloads.ts", "web"], here);
if (typeof ours === "string") throw new Error(`The project's workloads failed: ${ours}`);
const oursNode = await run(Deno.execPath(), ["run", "-A", "pool_workloads.ts", "node"], here);
console.error("Running piscina (Node) ...");
const piscina = (await ensurePiscina())
  ? await run("node", ["piscina_bench.mjs"], anchors)
  : "piscina could not be installed";
console.error("Running Python multiprocessing ...");
const python = await run("python3", ["python_pool.py"], anchors);
console.error("Running the Queue and Pipe workloads (this project, then Python) ...");
const oursIpc = await run(Deno.execPath(), ["run", "-A", "ipc_workloads.ts"], here);
if (typeof oursIpc === "string") throw new Error(`The project's IPC workloads failed: ${oursIpc}`);
const pythonIpc = await run("python3", ["python_ipc.py"], anchors);
console.error("Running the pool-control workloads (this project, then piscina) ...");
const oursControl = await run(
  Deno.execPath(),
  ["run", "-A", "--v8-flags=--expose-gc", "pool_control_workloads.ts"],
  here,
);
if (typeof oursControl === "string") {
  throw new Error(`The project's pool-control workloads failed: ${oursControl}`);
}
const piscinaControl = typeof piscina === "string"
  ? piscina
  : await run("node", ["piscina_control.mjs"], anchors);

const workloads: [string, string, "higher" | "lower", string][] = [
  ["start", "construct + first result, 2 workers", "lower", "<= piscina"],
  ["apply", "apply() round trip, trivial task", "lower", "<= 1/3 of piscina"],
  ["applyAsync", "applyAsync throughput, 100k trivial tasks", "higher", ">= 5x piscina"],
  ["map", "map of 1M ints, default chunksize", "higher", ">= 2x Python"],
  ["cpu", "CPU-bound map speedup on 2 workers (serial / parallel)", "higher", ">= 0.95 x cores"],
];

/** The chart's bars: how many times better than each anchor, and the target against it. */
const bars: ChartBar[] = [];
const chartTargets: Record<string, [anchor: string, target: number]> = {
  start: ["piscina", 1],
  apply: ["piscina", 3],
  applyAsync: ["piscina", 5],
  map: ["Python", 2],
  queue: ["Python", 10],
  pipe: ["Python", 10],
  queue8m: ["Python", 3],
  lockContended: ["Python", 5],
  manager: ["Python", 5],
};

function addBar(
  key: string,
  label: string,
  anchorName: string,
  anchor: Map<string, Row> | string,
  mine: Row,
) {
  if (typeof anchor === "string") return;
  const theirs = anchor.get(key);
  if (!theirs) return;
  const rate = mine.unit.includes("/s") || key === "cpu";
  const better = rate ? mine.value / theirs.value : theirs.value / mine.value;
  const [targetAnchor, target] = chartTargets[key] ?? ["", 0];
  bars.push({
    workload: label,
    anchor: anchorName,
    better,
    target: targetAnchor === anchorName ? target : undefined,
  });
}

function cell(anchor: Map<string, Row> | string, key: string, mine: Row): string {
  if (typeof anchor === "string") return "skipped";
  const row = anchor.get(key);
  if (!row) return "n/a";
  const ratio = mine.value / row.value;
  return `${fmt(row.value)} ${row.unit} (ours ${ratio.toFixed(2)}x)`;
}

function nodeCell(key: string): string {
  if (typeof oursNode === "string") return "failed";
  const row = oursNode.get(key);
  return row ? `${fmt(row.value)} ${row.unit}` : "n/a";
}

function fmt(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? 1 : 2);
}

const lines = [
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${new Date().toISOString()}`,
  "",
  "| workload | this project | piscina 5 (ratio) | Python Pool(2) (ratio) | target | ours, node backend |",
  "|---|---|---|---|---|---|",
];
const shortLabels: Record<string, string> = {
  start: "start + first result",
  apply: "apply() round trip",
  applyAsync: "applyAsync throughput",
  map: "map of 1M ints",
  cpu: "CPU-bound speedup",
  queue: "Queue, small items",
  pipe: "Pipe, small messages",
  queue8m: "Queue, 8 MiB arrays",
  lockAlone: "uncontended Lock",
  lockContended: "contended Lock",
  manager: "Manager set + get",
};
for (const [key, label, , target] of workloads) {
  const mine = ours.get(key)!;
  addBar(key, shortLabels[key], "piscina", piscina, mine);
  addBar(key, shortLabels[key], "Python", python, mine);
  lines.push(
    `| ${label} | ${fmt(mine.value)} ${mine.unit} | ${cell(piscina, key, mine)} | ${
      cell(python, key, mine)
    } | ${target} | ${nodeCell(key)} |`,
  );
}
lines.push(
  "",
  "| workload | this project | Python (ratio) | target |",
  "|---|---|---|---|",
);
for (
  const [key, label, target] of [
    ["queue", "Queue, 200k small items, Process → main (first item to last)", ">= 10x Python"],
    ["queueWithStart", "the same, timed from Process start()", ""],
    ["queueFirstItem", "Process start() to the first item received", ""],
    ["pipe", "Pipe, 200k small messages, Process → main (first to last)", ">= 10x Python"],
    ["pipeWithStart", "the same, timed from Process start()", ""],
    ["pipeFirstItem", "Process start() to the first message received", ""],
    ["queue8m", "Queue, 8 MiB Float64Arrays, Process → main", ">= 3x Python"],
    ["lockAlone", "uncontended Lock acquire + release in a worker", "<= 1 us"],
    [
      "lockContended",
      "contended Lock, 2 workers incrementing a shared Value (both started)",
      ">= 5x Python",
    ],
    [
      "manager",
      "Manager dict set + get round trip, from a Process (after 20k pairs)",
      "<= 1/5 of Python",
    ],
    ["managerEarly", "the same, the 5k pairs after the first 2k", ""],
  ]
) {
  const mine = oursIpc.get(key)!;
  if (shortLabels[key]) addBar(key, shortLabels[key], "Python", pythonIpc, mine);
  lines.push(
    `| ${label} | ${fmt(mine.value)} ${mine.unit} | ${cell(pythonIpc, key, mine)} | ${target} |`,
  );
}
if (typeof pythonIpc === "string") lines.push(`Python IPC skipped: ${pythonIpc}`);
lines.push(
  "",
  "Ratios are ours / theirs: for ms and µs lower is better, for rates higher. map and cpu are",
  "medians of 5 and 3 runs after a warm-up, for every implementation; the IPC figures medians of 5.",
);
if (typeof piscina === "string") lines.push(`piscina skipped: ${piscina}`);
if (typeof python === "string") lines.push(`Python skipped: ${python}`);
lines.push("", ...(await netTable()));
lines.push("", ...controlTable());
const table = lines.join("\n");
console.log(table);
await Deno.mkdir(new URL("results/", here), { recursive: true });
await Deno.writeTextFile(new URL("results/latest.md", here), table + "\n");
const chart = new URL("../docs/benchmarks.svg", here);
await Deno.writeTextFile(
  chart,
  ratioChart(
    bars,
    `deno task bench: this project against piscina 5 and Python 3, ${navigator.hardwareConcurrency} cores`,
  ),
);
console.error(`Chart: ${chart.pathname}`);

/** Pool control (issue 16): cancellation, stats, transfer, elastic size, bounded queue. */
function controlTable(): string[] {
  const out = [
    "| pool control | this project | piscina 5 (ratio) | target |",
    "|---|---|---|---|",
  ];
  const control = oursControl as Map<string, Row>;
  const statsOn = control.get("applyAsyncStatsOn")!;
  const piscinaAsync = typeof piscina === "string" ? undefined : piscina.get("applyAsync");
  if (piscinaAsync) {
    bars.push({
      workload: "applyAsync, stats on",
      anchor: "piscina",
      better: statsOn.value / piscinaAsync.value,
      target: 5,
    });
  }
  const rows: [key: string, label: string, target: string, versus: string][] = [
    [
      "abortToSignal",
      "abort() → the running task's taskSignal() fires in the worker",
      "<= 1 ms",
      "",
    ],
    ["abortToReject", "abort() → the caller's promise rejects", "", "piscina"],
    ["abortThenNext", "abort a running task, then the next task's result", "", "piscina"],
    ["applyAsyncStatsOn", "applyAsync throughput, stats on", ">= 5x piscina", "applyAsync"],
    ["applyAsyncStatsOff", "applyAsync throughput, stats off", "", ""],
    ["statsRatio", "stats on / stats off (applyAsync, alternating runs)", ">= 0.95", ""],
    ["transfer64", "a 64 MiB buffer to a task and back, moved (transfer)", "", "piscina"],
    ["copy64", "the same, copied", "", "piscina"],
    ["elasticGrow", "elastic pool, 1 → 2 workers: two tasks that must run at once", "", "piscina"],
    ["elasticFirst", "elastic pool with no worker (minProcesses 0): first result", "", "piscina"],
    ["producerRate", "10M tasks, waitForRoom() before each (maxQueue 64): rate", "", ""],
    ["producerHeapGrowth", "the same: heap growth from 1M to 10M tasks", "flat", ""],
  ];
  const chartLabels: Record<string, string> = {
    abortThenNext: "abort, then next result",
    transfer64: "64 MiB moved, round trip",
    elasticGrow: "elastic grow 1 → 2",
  };
  for (const [key, label, target, versus] of rows) {
    const mine = control.get(key)!;
    let theirs = "n/a";
    if (versus === "applyAsync") theirs = cell(piscina, "applyAsync", mine);
    if (versus === "piscina") theirs = cell(piscinaControl, key, mine);
    if (chartLabels[key]) addBar(key, chartLabels[key], "piscina", piscinaControl, mine);
    out.push(`| ${label} | ${fmt(mine.value)} ${mine.unit} | ${theirs} | ${target} |`);
  }
  out.push(
    "",
    "piscina has no signal inside a task: aborting a running task terminates its thread, so the",
    "abort-to-signal row has no twin there. Times are medians (abort: 50 trials; transfer: 10).",
  );
  if (typeof piscinaControl === "string") {
    out.push(`piscina (pool control) skipped: ${piscinaControl}`);
  }
  return out;
}

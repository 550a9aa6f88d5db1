// The comparison workloads on piscina 5 (Node, 2 threads). piscina has no map:
// the map workload is skipped.
import { Piscina } from "piscina";
import { performance } from "node:perf_hooks";
import worker from "./piscina_worker.mjs";

const report = (workload, value, unit) => console.log(JSON.stringify({ workload, value, unit }));
const [applyN, asyncN, cpuLimit] = [20_000, 100_000, 300_000];
const filename = new URL("./piscina_worker.mjs", import.meta.url).href;

let t = performance.now();
const pool = new Piscina({ filename, minThreads: 2, maxThreads: 2 });
await pool.run(1);
report("start", performance.now() - t, "ms");
for (let i = 0; i < 2000; i++) await pool.run(i);
t = performance.now();
for (let i = 0; i < applyN; i++) await pool.run(i);
report("apply", ((performance.now() - t) * 1000) / applyN, "us");
await Promise.all(Array.from({ length: 10_000 }, (_, i) => pool.run(i)));
t = performance.now();
const rs = [];
for (let i = 0; i < asyncN; i++) rs.push(pool.run(i));
await Promise.all(rs);
report("applyAsync", asyncN / ((performance.now() - t) / 1000), "tasks/s");
const limits = Array(8).fill({ primes: cpuLimit });
worker(limits[0]);
await Promise.all(limits.map((l) => pool.run(l))); // warm-up
const speedups = [];
for (let run = 0; run < 3; run++) {
  t = performance.now();
  for (const l of limits) worker(l);
  const serial = performance.now() - t;
  t = performance.now();
  await Promise.all(limits.map((l) => pool.run(l)));
  speedups.push(serial / (performance.now() - t));
}
report("cpu", speedups.sort((a, b) => a - b)[1], "x");
await pool.destroy();

// The comparison workloads on this project's Pool. Run by compare.ts (one JSON
// line per workload on stdout); the same workloads are in anchors/.
import { Pool, type PoolBackend } from "../mod.ts";

/** The trivial task. */
export function inc(x: number): number {
  return x + 1;
}

/** The CPU-bound task: primes below `limit`, by trial division. */
export function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(workload: string, value: number, unit: string): void {
  console.log(JSON.stringify({ workload, value, unit }));
}

if (import.meta.main) {
  const backend = (Deno.args[0] ?? "web") as PoolBackend;
  const [applyN, asyncN, mapN, cpuLimit] = [20_000, 100_000, 1_000_000, 300_000];

  let t = performance.now();
  const pool = new Pool({ processes: 2, backend });
  await pool.apply(inc, [1]);
  report("start", performance.now() - t, "ms");

  for (let i = 0; i < 2_000; i++) await pool.apply(inc, [i]); // warm-up
  t = performance.now();
  for (let i = 0; i < applyN; i++) await pool.apply(inc, [i]);
  report("apply", ((performance.now() - t) * 1000) / applyN, "us");

  await Promise.all(Array.from({ length: 10_000 }, (_, i) => pool.applyAsync(inc, [i])));
  t = performance.now();
  const results = [];
  for (let i = 0; i < asyncN; i++) results.push(pool.applyAsync(inc, [i]));
  await Promise.all(results);
  report("applyAsync", asyncN / ((performance.now() - t) / 1000), "tasks/s");

  const ints = Array.from({ length: mapN }, (_, i) => i);
  const mapTimes = [];
  for (let run = 0; run < 6; run++) {
    t = performance.now();
    await pool.map(inc, ints);
    mapTimes.push(performance.now() - t);
  }
  report("map", mapN / (median(mapTimes.slice(1)) / 1000), "items/s");

  const limits = Array(8).fill(cpuLimit);
  countPrimes(cpuLimit);
  // Warm-up: every worker compiles the task before the timed runs.
  await pool.map(countPrimes, limits, { chunksize: 1 });
  const speedups = [];
  for (let run = 0; run < 3; run++) {
    t = performance.now();
    for (const limit of limits) countPrimes(limit);
    const serial = performance.now() - t;
    t = performance.now();
    await pool.map(countPrimes, limits, { chunksize: 1 });
    speedups.push(serial / (performance.now() - t));
  }
  report("cpu", median(speedups), "x");

  pool.close();
  await pool.join();
}

// The seed's Pool showcase (seed 000, "在multiprocessing中使用pool"): five
// long_time_task calls on a pool of 4. Tasks 0-3 start at once; task 4 waits
// for a free worker, so the whole run takes about two task lengths.
//
//   deno task demo:pool
import { Pool } from "../mod.ts";
import { currentProcess } from "../mod.ts";

const TASK_MS = 1000;

/** Sleeps like the seed's time.sleep(3) (shortened to 1 s) and reports its timing. */
export async function longTimeTask(name: number): Promise<string> {
  const { name: worker, pid } = currentProcess();
  console.log(`Run task ${name} (${worker}, pid ${pid})...`);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, TASK_MS));
  const seconds = ((performance.now() - start) / 1000).toFixed(2);
  console.log(`Task ${name} runs ${seconds} seconds.`);
  return `task ${name} done by ${worker}`;
}

/** A CPU-bound task for the map part of the tour. */
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

if (import.meta.main) {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(2)}s`;
  console.log(`Parent process ${currentProcess().pid}.`);
  const pool = new Pool(4);
  for (let i = 0; i < 5; i++) {
    pool.applyAsync(longTimeTask, [i], {
      callback: (message) => console.log(`  callback at ${elapsed()}: ${message}`),
    });
  }
  console.log("Waiting for all subprocesses done...");
  pool.close();
  await pool.join();
  console.log(`All subprocesses done in ${elapsed()} (5 tasks of 1 s on 4 workers).`);

  const limits = Array(8).fill(1_000_000);
  let t = performance.now();
  for (const limit of limits) countPrimes(limit);
  const serial = performance.now() - t;
  {
    await using cpuPool = new Pool();
    t = performance.now();
    const counts = await cpuPool.map(countPrimes, limits, { chunksize: 1 });
    const parallel = performance.now() - t;
    console.log(
      `\ncountPrimes x8: serial ${serial.toFixed(0)} ms, Pool(${cpuPool.processes}).map ` +
        `${parallel.toFixed(0)} ms, speedup ${(serial / parallel).toFixed(2)}x ` +
        `(${counts[0]} primes below 1000000)`,
    );
  }
}

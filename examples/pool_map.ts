// Port of seed 002 (002_adea0d9c76b1c04f.txt), "方式2:进程池创建": map() calls the
// worker once per item of range(10) on a Pool of 4: three rounds of four, four
// and two, each worker id coming back round after round.
//
//   deno run -A examples/pool_map.ts
import { currentProcess, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

/** Runs in a pool worker. */
export async function worker(num: number): Promise<void> {
  await sleep(4);
  console.log(`Worker ${num} , 进程id为 ${currentProcess().pid}`);
}

if (import.meta.main) {
  const pool = new Pool(4); // at most four workers
  await pool.map(worker, Array.from({ length: 10 }, (_, i) => i)); // ten calls
  pool.close(); // no more tasks
  await pool.join(); // wait for the workers to end
}

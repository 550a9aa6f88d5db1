// Port of seed 001 (001_73e7860a1e92ec40.txt), "无需回调函数": when the main
// process handles every result at the end, no callback is needed: wait for the
// pool, then get() each result.
//
//   deno run -A examples/pool_results_without_callback.ts
import { type AsyncResult, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function work(n: number): Promise<number> {
  await sleep(1);
  return n ** 2;
}

if (import.meta.main) {
  const p = new Pool();
  const resL: AsyncResult<number>[] = [];
  for (let i = 0; i < 10; i++) {
    const res = p.applyAsync(work, [i]);
    resL.push(res);
  }
  p.close();
  await p.join(); // wait until every task of the pool is done
  const nums: number[] = [];
  for (const res of resL) nums.push(await res.get()); // every result
  console.log(nums); // handled together in the main process
}

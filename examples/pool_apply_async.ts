// Port of seed 001 (001_73e7860a1e92ec40.txt), "进程池的异步调用": apply_async()
// returns at once with an AsyncResult; at most three tasks run at a time, and
// a worker takes the next task as soon as it is free. After close() and
// join(), get() collects each result.
//
//   deno run -A examples/pool_apply_async.ts
import { type AsyncResult, currentProcess, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function work(n: number): Promise<number> {
  console.log(`${currentProcess().pid} run`);
  await sleep(Math.random());
  return n ** 2;
}

if (import.meta.main) {
  const p = new Pool(3);
  const resL: AsyncResult<number>[] = [];
  for (let i = 0; i < 10; i++) {
    const res = p.applyAsync(work, [i]); // does not wait
    resL.push(res);
  }
  // Wait for every task of the pool, then collect the results with get().
  p.close();
  await p.join();
  for (const res of resL) console.log(await res.get());
}

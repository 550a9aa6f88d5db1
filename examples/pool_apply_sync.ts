// Port of seed 001 (001_73e7860a1e92ec40.txt), "进程池的同步调用": apply() waits for
// each task before the next one goes, so the three workers of the Pool take
// turns and the ten tasks run one at a time.
//
//   deno run -A examples/pool_apply_sync.ts
import { currentProcess, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function work(n: number): Promise<number> {
  console.log(`${currentProcess().pid} run`);
  await sleep(3);
  return n ** 2;
}

if (import.meta.main) {
  const p = new Pool(3); // three workers, made once and reused for every task
  const resL: number[] = [];
  for (let i = 0; i < 10; i++) {
    // Synchronous call: wait here until this task is done and its result is back.
    const res = await p.apply(work, [i]);
    resL.push(res); // (the seed forgets this line and prints an empty list)
  }
  console.log(resL);
  p.close();
  await p.join();
}

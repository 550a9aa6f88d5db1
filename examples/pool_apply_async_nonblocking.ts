// Port of seed 004 (004_46a67a22da33b80c.txt), "非阻塞": apply_async() on a Pool of
// 3 runs three tasks at a time; a new one starts as soon as one ends.
//
//   deno run -A examples/pool_apply_async_nonblocking.ts
import { Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function worker(msg: string): Promise<void> {
  console.log(`#######start ${msg}########`);
  await sleep(1);
  console.log(`#######end   ${msg}########`);
}

if (import.meta.main) {
  const pool = new Pool({ processes: 3 });
  for (let i = 1; i < 10; i++) {
    const msg = `hello${i}`;
    pool.applyAsync(worker, [msg]);
  }
  pool.close();
  await pool.join(); // join() needs close() first; it waits for every task
  console.log("main end");
}

// Port of seed 004 (004_46a67a22da33b80c.txt), "阻塞": apply() waits for each
// task, so even on a Pool of 3 the tasks run one after another.
//
//   deno run -A examples/pool_apply_blocking.ts
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
    await pool.apply(worker, [msg]);
  }
  pool.close();
  await pool.join();
  console.log("main end");
}

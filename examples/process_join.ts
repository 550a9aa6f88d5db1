// Port of seed 003 (003_392ab84c41d69be6.txt), "JOIN方法": three children sleep
// 1, 2 and 3 seconds at the same time; joining them all takes about 3 seconds,
// the longest, not 6.
//
//   deno run -A examples/process_join.ts
import { Process } from "../mod.ts";
import { sleep, time } from "./_time.ts";

export async function task(name: string, n: number): Promise<void> {
  console.log(`${name} is running`);
  await sleep(n);
  console.log(`${name} is done`);
}

if (import.meta.main) {
  const start = time();
  const pL: Process[] = [];
  for (let i = 1; i < 4; i++) {
    const p = new Process({ target: task, args: [`小王${i}`, i] });
    pL.push(p);
    p.start();
  }
  // the main process waits for its children
  for (const p of pL) await p.join();
  console.log("主", time() - start);
}

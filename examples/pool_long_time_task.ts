// Port of seed 000 (000_e74dd69dd0495c49.txt), section 三 "在multiprocessing中使用pool":
// five apply_async() tasks on a Pool of cpuCount() workers. As many tasks start
// at once as there are workers; the others wait for a free one.
//
//   deno run -A examples/pool_long_time_task.ts
import { currentProcess, Pool } from "../mod.ts";
import { sleep, time } from "./_time.ts";

export async function longTimeTask(name: number): Promise<void> {
  console.log(`Run task ${name} (${currentProcess().pid})...`);
  const start = time();
  await sleep(3);
  const end = time();
  console.log(`Task ${name} runs ${(end - start).toFixed(2)} seconds.`);
}

if (import.meta.main) {
  console.log(`Parent process ${currentProcess().pid}.`);
  const p = new Pool(); // Pool(5) would run all five at once
  for (let i = 0; i < 5; i++) p.applyAsync(longTimeTask, [i]);
  console.log("Waiting for all subprocesses done...");
  p.close();
  await p.join();
  console.log("All subprocesses done.");
}

// Port of seed 003 (003_392ab84c41d69be6.txt), "current_process 查看pid": every
// process has an id; current_process().pid tells it. A worker's pid is its
// worker id (workers are threads of one OS process); the main process's is
// the OS pid.
//
//   deno run -A examples/process_current_process.ts
import { currentProcess, Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function task(): Promise<void> {
  console.log(`${currentProcess().pid} is running`);
  await sleep(3);
  console.log(`${currentProcess().pid} is done`);
}

if (import.meta.main) {
  const p = new Process({ target: task });
  p.start();
  console.log("主", currentProcess().pid);
}

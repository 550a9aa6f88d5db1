// Port of seed 003 (003_392ab84c41d69be6.txt), "进程其他方法和属性": a process's
// name, terminate() and is_alive(). The child would sleep 30 seconds; the main
// process ends it at once.
//
//   deno run -A examples/process_terminate_is_alive.ts
import { currentProcess, parentProcess, Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function task(): Promise<void> {
  console.log(`${currentProcess().pid} is running 爹是${parentProcess()!.pid}`);
  await sleep(30);
  console.log(`${currentProcess().pid} is done爹是${parentProcess()!.pid}`);
}

if (import.meta.main) {
  const p = new Process({ target: task });
  p.start();
  console.log(p.name); // the process's name: Process-1
  p.terminate(); // end the child
  await sleep(0.1); // (Python needs a moment; here the process is gone at once)
  console.log(p.isAlive()); // false
  console.log(`exitcode ${p.exitcode}`); // -15, as for SIGTERM
  console.log(`主${Deno.pid}爹是${Deno.ppid}`);
}

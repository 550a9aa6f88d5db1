// Port of seed 003 (003_392ab84c41d69be6.txt), "os.getpid() 查看进程id": each
// process and its parent. In a child, os.getpid()/os.getppid() become
// currentProcess().pid and parentProcess().pid (the main process, which
// started it); in the main process, Deno.pid and Deno.ppid (the shell or IDE
// that started the program).
//
//   deno run -A examples/process_pid_ppid.ts
import { currentProcess, parentProcess, Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function task(): Promise<void> {
  console.log(`${currentProcess().pid} is running 爹是${parentProcess()!.pid}`);
  await sleep(3);
  console.log(`${currentProcess().pid} is done爹是${parentProcess()!.pid}`);
}

if (import.meta.main) {
  const p = new Process({ target: task });
  p.start();
  // Who started the main process: the shell, an IDE, ...
  console.log(`主${Deno.pid}爹是${Deno.ppid}`);
}

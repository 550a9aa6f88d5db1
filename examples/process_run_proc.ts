// Port of seed 000 (000_e74dd69dd0495c49.txt), section 二 "multiprocessing中使用子进程概念":
// start one child with Process(target, args), wait for it with join().
// The child's pid is its worker id.
//
//   deno run -A examples/process_run_proc.ts
import { currentProcess, Process } from "../mod.ts";

/** The code the child runs (exported: the child imports this module to find it). */
export function runProc(name: string): void {
  console.log(`Run child process ${name} (${currentProcess().pid})...`);
}

// Deno's `if __name__ == '__main__':` (false in the child, which imports this file).
if (import.meta.main) {
  console.log(`Parent process ${currentProcess().pid}.`);
  const p = new Process({ target: runProc, args: ["test"] });
  console.log("Process will start.");
  p.start();
  await p.join();
  console.log("Process end.");
}

// Port of seed 003 (003_392ab84c41d69be6.txt), "进程之间空间隔离": a child changes
// its own copy of a module variable; the main process's n stays 100. Each
// worker imports the module afresh, as each Python process has its own memory.
//
//   deno run -A examples/process_memory_isolation.ts
import { Process } from "../mod.ts";

// This n belongs to the main process; the child gets a copy of its own.
let n = 100;

export function task(): void {
  n = 0; // changes the child's n, not the main process's
}

if (import.meta.main) {
  const p = new Process({ target: task });
  p.start();
  await p.join();
  console.log(n); // 100
}

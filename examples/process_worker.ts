// Port of seed 002 (002_adea0d9c76b1c04f.txt), "例子": the smallest Process:
// create it with a target, start() it, join() it.
//
//   deno run -A examples/process_worker.ts
import { Process } from "../mod.ts";

/** Runs in the child. */
export function worker(): void {
  console.log("Worker");
}

if (import.meta.main) {
  const p = new Process({ target: worker }); // create the child
  p.start(); // start it
  await p.join(); // wait for it to end
}

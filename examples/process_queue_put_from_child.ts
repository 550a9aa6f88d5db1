// Port of seed 001 (001_73e7860a1e92ec40.txt), "单看队列用法", second snippet: a
// child puts one message on the queue its parent gave it; the parent gets it.
//
//   deno run -A examples/process_queue_put_from_child.ts
import { Process, Queue } from "../mod.ts";
import { asctime } from "./_time.ts";

export async function f(q: Queue<string[]>): Promise<void> {
  await q.put([asctime(), "from Eva", "hello"]);
}

if (import.meta.main) {
  const q = new Queue<string[]>();
  const p = new Process({ target: f, args: [q] });
  p.start();
  console.log(await q.get());
  await p.join();
}

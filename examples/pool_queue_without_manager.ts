// Port of seed 000 (000_e74dd69dd0495c49.txt), section 四 "关于上面代码的几个有趣的问题",
// first snippet: the write/read pair of the previous example run as Pool
// tasks with a plain Queue as their argument.
//
// Python refuses this: "RuntimeError: Queue objects should only be shared
// between processes through inheritance", and the seed turns to a Manager.
// Here a Queue given to a Pool task (at any depth of its arguments) arrives as
// a working handle to the same queue, so the plain Queue just works.
//
//   deno run -A examples/pool_queue_without_manager.ts
import { Pool, Queue } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function write(q: Queue<string>): Promise<void> {
  for (const value of ["A", "B", "C"]) {
    console.log(`Put ${value} to queue...`);
    await q.put(value);
    await sleep(Math.random());
  }
}

export async function read(q: Queue<string>): Promise<void> {
  while (!q.empty()) {
    const value = await q.get({ block: true });
    console.log(`Get ${value} from queue.`);
    await sleep(Math.random());
  }
}

if (import.meta.main) {
  const q = new Queue<string>(); // a plain Queue: no Manager needed
  const p = new Pool();
  const pw = p.applyAsync(write, [q]);
  // The reader stops at the first empty look, so let the writer finish first
  // (the seed's Manager version sleeps 0.5 s here and hopes it is enough).
  await pw.wait();
  const pr = p.applyAsync(read, [q]);
  p.close();
  await p.join();
  await pr; // rethrows the reader's error if it had one (Python would show the RuntimeError here)
  console.log();
  console.log("所有数据都写入并且读完");
}

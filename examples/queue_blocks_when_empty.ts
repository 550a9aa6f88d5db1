// Port of seed 003 (003_392ab84c41d69be6.txt), "进程间通信(IPC机制)": a Queue(3)
// takes three items; a fourth put() would wait for room. Three get()s empty
// it, and the fourth get() waits for an item that never comes: the seed's
// program never ends. Here that last get() has a timeout, so the wait shows
// and the program still ends.
//
//   deno run -A examples/queue_blocks_when_empty.ts
import { Empty, Queue } from "../mod.ts";
import { ms } from "./_time.ts";

const q = new Queue<unknown>(3); // at most three items, first in first out
await q.put("a");
await q.put("b");
await q.put({ x: 2 });
console.log("篮子满了");
// await q.put({ x: 2 }); // full: this would wait until an item is taken
console.log(await q.get());
console.log(await q.get());
console.log(await q.get());
console.log("队列为空");
try {
  console.log(await q.get({ timeout: ms(3) })); // the seed waits here forever
} catch (error) {
  if (!(error instanceof Empty)) throw error;
  console.log("get() waited 3 s for an item and gave up: Empty");
}

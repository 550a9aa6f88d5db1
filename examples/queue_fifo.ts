// Port of seed 000 (000_e74dd69dd0495c49.txt), section 一 "先说说Queue(队列对象)":
// a queue with a capacity, first in first out; get_nowait() on an empty queue
// raises Empty; qsize(), empty(), full().
//
//   deno run -A examples/queue_fifo.ts
import { Empty, Queue } from "../mod.ts";

const q = new Queue<unknown>(10); // q = Queue.Queue(10)
await q.put("yang");
await q.put(4);
await q.put(["yan", "xing"]);
console.log("qsize:", q.qsize(), "empty:", q.empty(), "full:", q.full());

console.log(await q.get()); // 'yang'
console.log(await q.get()); // 4
console.log(await q.get()); // ['yan', 'xing']

try {
  q.getNowait(); // the same as q.get({ block: false })
} catch (error) {
  if (!(error instanceof Empty)) throw error;
  console.log(`getNowait() on an empty queue raised ${error.name}`);
}
console.log("qsize:", q.qsize(), "empty:", q.empty(), "full:", q.full());

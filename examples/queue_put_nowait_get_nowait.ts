// Port of seed 001 (001_73e7860a1e92ec40.txt), "单看队列用法": a Queue(3) that
// fills up; put_nowait() on a full queue raises Full instead of blocking,
// get_nowait() on an empty one raises Empty.
//
//   deno run -A examples/queue_put_nowait_get_nowait.ts
import { Queue } from "../mod.ts";

const q = new Queue<number>(3);
await q.put(3);
await q.put(3);
await q.put(3);
// await q.put(3); // the queue is full: this would wait until someone takes an item
try {
  q.putNowait(3); // does not wait: throws Full
} catch {
  console.log("队列已经满了");
}
console.log(q.full()); // full
console.log(await q.get());
console.log(await q.get());
console.log(await q.get());
// console.log(await q.get()); // the queue is empty: this would wait for an item
try {
  q.getNowait(); // does not wait: throws Empty
} catch {
  console.log("队列已经空了");
}
console.log(q.empty()); // empty

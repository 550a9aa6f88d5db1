// Port of seed 001 (001_73e7860a1e92ec40.txt), "多个消费者的例子": three producers,
// two consumers. Each consumer stops at the first sentinel it gets, so the
// main process sends one sentinel per consumer, after every producer is done.
//
//   deno run -A examples/producers_consumers_sentinel_per_consumer.ts
import { currentProcess, Process, Queue } from "../mod.ts";
import { randint, sleep } from "./_time.ts";

export async function consumer(q: Queue<string | null>): Promise<void> {
  while (true) {
    const res = await q.get();
    if (res === null) break; // the end signal: stop
    await sleep(randint(1, 3));
    console.log(`\x1b[45m${currentProcess().pid} 吃 ${res}\x1b[0m`);
  }
}

export async function producer(name: string, q: Queue<string | null>): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await sleep(randint(1, 3));
    const res = `${name}${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
}

if (import.meta.main) {
  const q = new Queue<string | null>();
  // the producers (cooks)
  const p1 = new Process({ target: producer, args: ["包子", q] });
  const p2 = new Process({ target: producer, args: ["骨头", q] });
  const p3 = new Process({ target: producer, args: ["泔水", q] });
  // the consumers (eaters)
  const c1 = new Process({ target: consumer, args: [q] });
  const c2 = new Process({ target: consumer, args: [q] });
  p1.start();
  p2.start();
  p3.start();
  c1.start();
  c2.start(); // the seed forgets this line, leaving c2 unstarted and one sentinel unread
  await p1.join(); // every producer must be done before the end signals go out
  await p2.join();
  await p3.join();
  await q.put(null); // one end signal per consumer
  await q.put(null);
  console.log("主");
}

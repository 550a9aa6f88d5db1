// Port of seed 001 (001_73e7860a1e92ec40.txt), "改良版——生产者消费者模型": the
// producer puts a sentinel (None, here null) after its last item; the consumer
// breaks out of its loop when it gets it, so the program ends.
//
//   deno run -A examples/producer_consumer_sentinel.ts
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

export async function producer(q: Queue<string | null>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await sleep(randint(1, 3));
    const res = `包子${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
  await q.put(null); // send the end signal
}

if (import.meta.main) {
  const q = new Queue<string | null>();
  const p1 = new Process({ target: producer, args: [q] }); // the cooks
  const c1 = new Process({ target: consumer, args: [q] }); // the eaters
  p1.start();
  c1.start();
  console.log("主");
}

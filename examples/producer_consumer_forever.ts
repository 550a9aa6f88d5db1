// Port of seed 001 (001_73e7860a1e92ec40.txt), "基于队列实现生产者消费者模型" and
// "改良版": the problem and its fix side by side.
//
// The problem: the consumer loops on q.get() forever. Once the producer is
// done and the queue is empty, the consumer waits for an item that never
// comes, and since it is not a daemon the program never ends (in Python as
// here). This example shows it, then ends the stuck consumer by hand.
// The fix: the producer puts a sentinel (None, here null) when it is done, and
// the consumer leaves its loop when it gets one.
//
//   deno run -A examples/producer_consumer_forever.ts
import { currentProcess, Process, Queue } from "../mod.ts";
import { ms, randint, sleep } from "./_time.ts";

// The problem: no way out of this loop.
export async function consumer(q: Queue<string>): Promise<void> {
  while (true) {
    const res = await q.get();
    await sleep(randint(1, 3));
    console.log(`\x1b[45m${currentProcess().pid} 吃 ${res}\x1b[0m`);
  }
}

export async function producer(q: Queue<string>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await sleep(randint(1, 3));
    const res = `包子${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
}

// The fix: the consumer stops at the sentinel...
export async function consumerWithSentinel(q: Queue<string | null>): Promise<void> {
  while (true) {
    const res = await q.get();
    if (res === null) break; // the end signal
    await sleep(randint(1, 3));
    console.log(`\x1b[45m${currentProcess().pid} 吃 ${res}\x1b[0m`);
  }
}

// ...which the producer sends when it is done.
export async function producerWithSentinel(q: Queue<string | null>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await sleep(randint(1, 3));
    const res = `包子${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
  await q.put(null); // the end signal
}

if (import.meta.main) {
  console.log("-- the problem: a consumer that never stops");
  {
    const q = new Queue<string>();
    const p1 = new Process({ target: producer, args: [q] }); // the cook
    const c1 = new Process({ target: consumer, args: [q] }); // the eater
    p1.start();
    c1.start();
    console.log("主");
    await p1.join();
    // Once the queue is empty the consumer eats its last bun (at most 3 s),
    // then waits in q.get() for good: join() with a timeout returns, the
    // consumer still alive.
    while (!q.empty()) await sleep(0.1);
    await c1.join(ms(6));
    console.log(`the producer is done; the consumer is alive: ${c1.isAlive()} (stuck in q.get())`);
    console.log("without the next line this program would never end");
    c1.terminate();
    await c1.join();
  }

  console.log("-- the fix: the producer sends a sentinel");
  {
    const q = new Queue<string | null>();
    const p1 = new Process({ target: producerWithSentinel, args: [q] });
    const c1 = new Process({ target: consumerWithSentinel, args: [q] });
    p1.start();
    c1.start();
    console.log("主");
    await p1.join();
    await c1.join();
    console.log(`the consumer ended by itself: exitcode ${c1.exitcode}`);
  }
}

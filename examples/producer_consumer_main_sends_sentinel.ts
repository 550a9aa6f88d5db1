// Port of seed 001 (001_73e7860a1e92ec40.txt), "主进程在生产者生产完毕后发送结束信号None":
// the sentinel need not come from the producer: the main process sends it,
// after join() has made sure the producer is done.
//
//   deno run -A examples/producer_consumer_main_sends_sentinel.ts
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
  for (let i = 0; i < 2; i++) {
    await sleep(randint(1, 3));
    const res = `包子${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
}

if (import.meta.main) {
  const q = new Queue<string | null>();
  const p1 = new Process({ target: producer, args: [q] });
  const c1 = new Process({ target: consumer, args: [q] });
  p1.start();
  c1.start();
  await p1.join();
  await q.put(null); // the end signal, once the producer is done
  console.log("主");
}

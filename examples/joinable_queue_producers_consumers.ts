// Port of seed 001 (001_73e7860a1e92ec40.txt), "JoinableQueue([maxsize])": consumers
// call task_done() for every item; each producer, after its last put, waits in
// q.join() until every item has been processed. The consumers loop forever, so
// they are daemons: once the producers are done, everything they put has been
// eaten, and the consumers end with the main process.
//
//   deno run -A examples/joinable_queue_producers_consumers.ts
import { currentProcess, JoinableQueue, Process } from "../mod.ts";
import { randint, sleep } from "./_time.ts";

export async function consumer(q: JoinableQueue<string>): Promise<void> {
  while (true) {
    const res = await q.get();
    await sleep(randint(1, 3));
    console.log(`\x1b[45m${currentProcess().pid} 吃 ${res}\x1b[0m`);
    q.taskDone(); // tells q.join() that one more item is done
  }
}

export async function producer(name: string, q: JoinableQueue<string>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await sleep(randint(1, 3));
    const res = `${name}${i}`;
    await q.put(res);
    console.log(`\x1b[44m${currentProcess().pid} 生产了 ${res}\x1b[0m`);
  }
  await q.join(); // done producing: wait until every item has been processed
}

if (import.meta.main) {
  const q = new JoinableQueue<string>();
  // the producers (cooks)
  const p1 = new Process({ target: producer, args: ["包子", q] });
  const p2 = new Process({ target: producer, args: ["骨头", q] });
  const p3 = new Process({ target: producer, args: ["泔水", q] });
  // the consumers (eaters)
  const c1 = new Process({ target: consumer, args: [q] });
  const c2 = new Process({ target: consumer, args: [q] });
  c1.daemon = true;
  c2.daemon = true;
  const pL = [p1, p2, p3, c1, c2];
  for (const p of pL) p.start();
  await p1.join();
  await p2.join();
  await p3.join();
  console.log("主");
  // main waits for p1, p2, p3, which wait for c1, c2 to finish every item; the
  // daemons c1 and c2, stuck in q.get(), end with the main process.
}

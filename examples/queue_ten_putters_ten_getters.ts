// Port of seed 001 (001_73e7860a1e92ec40.txt), "批量生产数据放入队列再批量获取结果":
// ten processes each put one item on a Queue(3), ten others each get one.
// Putters wait while the queue is full, getters while it is empty.
//
//   deno run -A examples/queue_ten_putters_ten_getters.ts
import { currentProcess, Process, Queue } from "../mod.ts";
import { asctime } from "./_time.ts";

// Puts one item.
export async function inputQ(queue: Queue<string>): Promise<void> {
  const info = `${currentProcess().pid}(put):${asctime()}`;
  await queue.put(info);
}

// Gets one item.
export async function outputQ(queue: Queue<string>): Promise<void> {
  const info = await queue.get();
  console.log(`${currentProcess().pid}(get):\x1b[32m${info}\x1b[0m`);
}

if (import.meta.main) {
  const record1: Process[] = []; // the putters
  const record2: Process[] = []; // the getters
  const queue = new Queue<string>(3);
  for (let i = 0; i < 10; i++) {
    const process = new Process({ target: inputQ, args: [queue] });
    process.start();
    record1.push(process);
  }
  for (let i = 0; i < 10; i++) {
    const process = new Process({ target: outputQ, args: [queue] });
    process.start();
    record2.push(process);
  }
  for (const p of record1) await p.join();
  for (const p of record2) await p.join();
}

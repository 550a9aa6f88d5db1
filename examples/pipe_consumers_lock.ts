// Port of seed 001 (001_73e7860a1e92ec40.txt), "多个消费之之间的竞争问题带来的数据不安全问题":
// two consumer processes read one end of a Pipe; a Lock makes each recv() whole.
// A producer process sends 0..9 and one None (null) per consumer.
//
// As in Python, `if (baozi)` is false for 0 as well as for null: the consumer
// that receives 0 takes it for the end signal and stops, and the other one
// eats the rest. The run ends either way; the seed's output shows the same.
//
//   deno run -A examples/pipe_consumers_lock.ts
import { type Connection, Lock, Pipe, Process } from "../mod.ts";

export async function consumer(
  [produce, consume]: Connection[],
  name: string,
  lock: Lock,
): Promise<void> {
  produce.close();
  while (true) {
    await lock.acquire();
    const baozi = await consume.recv<number | null>();
    lock.release();
    if (baozi) {
      console.log(`${name} 收到包子:${baozi}`);
    } else {
      consume.close();
      break;
    }
  }
}

export function producer([produce, consume]: Connection[], n: number): void {
  consume.close();
  for (let i = 0; i < n; i++) produce.send(i);
  produce.send(null);
  produce.send(null);
  produce.close();
}

if (import.meta.main) {
  const [produce, consume] = Pipe();
  const lock = new Lock();
  const c1 = new Process({ target: consumer, args: [[produce, consume], "c1", lock] });
  const c2 = new Process({ target: consumer, args: [[produce, consume], "c2", lock] });
  const p1 = new Process({ target: producer, args: [[produce, consume], 10] });
  c1.start();
  c2.start();
  p1.start();
  produce.close();
  consume.close();
  await c1.join();
  await c2.join();
  await p1.join();
  console.log("主进程");
}

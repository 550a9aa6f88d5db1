// Port of seed 001 (001_73e7860a1e92ec40.txt), "pipe实现生产者消费者模型": the main
// process produces into one end of a Pipe, a consumer process reads the other
// until EOFError. Each side closes the end it does not use, or the consumer
// would never see the end of the data.
//
//   deno run -A examples/pipe_producer_consumer.ts
import { type Connection, EOFError, Pipe, Process } from "../mod.ts";

export async function consumer([produce, consume]: Connection[], name: string): Promise<void> {
  produce.close();
  while (true) {
    try {
      const baozi = await consume.recv();
      console.log(`${name} 收到包子:${baozi}`);
    } catch (error) {
      if (!(error instanceof EOFError)) throw error;
      break;
    }
  }
}

function producer(seq: Iterable<number>, [produce, consume]: Connection[]): void {
  consume.close();
  for (const i of seq) produce.send(i);
}

if (import.meta.main) {
  const [produce, consume] = Pipe();
  const c1 = new Process({ target: consumer, args: [[produce, consume], "c1"] });
  c1.start();
  const seq = (function* () {
    for (let i = 0; i < 10; i++) yield i;
  })();
  producer(seq, [produce, consume]);
  produce.close();
  consume.close(); // closing twice is fine, as in Python
  await c1.join();
  console.log("主进程");
}

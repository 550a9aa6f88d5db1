// Port of seed 000 (000_e74dd69dd0495c49.txt), section 三 "多个子进程间的通信": one
// process writes A, B, C to a Queue; after it ends, another reads until the
// queue is empty.
//
//   deno run -A examples/process_queue_write_read.ts
import { Process, Queue } from "../mod.ts";
import { sleep } from "./_time.ts";

// The writer's code.
export async function write(q: Queue<string>): Promise<void> {
  for (const value of ["A", "B", "C"]) {
    console.log(`Put ${value} to queue...`);
    await q.put(value);
    await sleep(Math.random());
  }
}

// The reader's code.
export async function read(q: Queue<string>): Promise<void> {
  while (true) {
    if (!q.empty()) {
      const value = await q.get({ block: true });
      console.log(`Get ${value} from queue.`);
      await sleep(Math.random());
    } else {
      break;
    }
  }
}

if (import.meta.main) {
  // The parent creates the Queue and hands it to each child.
  const q = new Queue<string>();
  const pw = new Process({ target: write, args: [q] });
  const pr = new Process({ target: read, args: [q] });
  pw.start(); // start the writer
  await pw.join(); // and wait for it to end
  pr.start(); // then the reader
  await pr.join();
  console.log();
  console.log("所有数据都写入并且读完");
}

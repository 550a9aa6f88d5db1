// Port of seed 000 (000_e74dd69dd0495c49.txt), section 四, last snippet: the
// writer holds a Manager's Lock while it puts, so that no other process works
// on the queue in between; the reader takes items with get_nowait().
//
//   deno run -A examples/pool_manager_queue_lock.ts
import { type Lock, Manager, Pool, type Queue } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function write(q: Queue<string>, lock: Lock): Promise<void> {
  await lock.acquire(); // take the lock
  for (const value of ["A", "B", "C"]) {
    console.log(`Put ${value} to queue...`);
    await q.put(value);
  }
  lock.release(); // release it
}

export async function read(q: Queue<string>): Promise<void> {
  while (!q.empty()) {
    const value = q.getNowait(); // q.get(False)
    console.log(`Get ${value} from queue.`);
    await sleep(Math.random());
  }
}

if (import.meta.main) {
  await using manager = new Manager();
  const q = manager.Queue<string>();
  const lock = manager.Lock(); // a lock for the writers
  const p = new Pool();
  const pw = p.applyAsync(write, [q, lock]);
  // The seed starts the reader at once; a reader that finds the queue still
  // empty reads nothing. Waiting for the writer makes the run repeatable.
  await pw.wait();
  p.applyAsync(read, [q]);
  p.close();
  await p.join();
  console.log();
  console.log("所有数据都写入并且读完");
}

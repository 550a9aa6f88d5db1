// Port of seed 000 (000_e74dd69dd0495c49.txt), section 四, second snippet: the
// seed's fix for Python, a Manager's Queue handed to Pool tasks.
//
// manager.Queue() works here too, for code ported line by line. It returns the
// same shared-memory Queue as `new Queue()` (see pool_queue_without_manager.ts):
// no server round trip per item, unlike Python's manager queue.
//
//   deno run -A examples/pool_manager_queue.ts
import { Manager, Pool, type Queue } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function write(q: Queue<string>): Promise<void> {
  for (const value of ["A", "B", "C"]) {
    console.log(`Put ${value} to queue...`);
    await q.put(value);
    await sleep(Math.random());
  }
}

export async function read(q: Queue<string>): Promise<void> {
  while (!q.empty()) {
    const value = await q.get({ block: true });
    console.log(`Get ${value} from queue.`);
    await sleep(Math.random());
  }
}

if (import.meta.main) {
  await using manager = new Manager();
  const q = manager.Queue<string>();
  const p = new Pool();
  const pw = p.applyAsync(write, [q]);
  await pw.wait(); // the seed: time.sleep(0.5), hoping the writer is done by then
  p.applyAsync(read, [q]);
  p.close();
  await p.join();
  console.log();
  console.log("所有数据都写入并且读完");
}

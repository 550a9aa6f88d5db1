// Port of seed 001 (001_73e7860a1e92ec40.txt), "Manager例子": a hundred processes
// each decrement a count held in a Manager's dict, under a Lock. Without the
// lock, read-modify-write steps would interleave and the count go wrong.
//
//   deno run -A examples/manager_dict_counter.ts
import { type DictProxy, Lock, Manager, Process } from "../mod.ts";

export async function work(d: DictProxy, lock: Lock): Promise<void> {
  using _held = await lock.hold(); // `with lock:`
  await d.set("count", (await d.get("count") as number) - 1);
}

if (import.meta.main) {
  const lock = new Lock();
  await using m = new Manager(); // `with Manager() as m:`
  const dic = m.dict({ count: 100 });
  const pL: Process[] = [];
  for (let i = 0; i < 100; i++) {
    const p = new Process({ target: work, args: [dic, lock] });
    pL.push(p);
    p.start();
  }
  for (const p of pL) await p.join();
  console.log(await dic.toObject()); // { count: 0 }
}

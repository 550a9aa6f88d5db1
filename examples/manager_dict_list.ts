// Port of seed 004 (004_46a67a22da33b80c.txt), "强大的Manager模块": a Manager
// holds a dict and a list; a child process fills them through proxies, and
// the main process sees the result. Proxy methods return Promises.
//
//   deno run -A examples/manager_dict_list.ts
import { type DictProxy, type ListProxy, Manager, Process } from "../mod.ts";

export async function worker(d: DictProxy, l: ListProxy): Promise<void> {
  await l.extend([11, 12, 13, 14, 15]); // l += range(11, 16)
  for (let i = 1; i < 6; i++) {
    const key = `key${i}`;
    const val = `val${i}`;
    await d.set(key, val);
  }
}

if (import.meta.main) {
  await using manager = new Manager();
  const d = manager.dict();
  const l = manager.list();
  const p = new Process({ target: worker, args: [d, l] });
  p.start();
  await p.join();
  console.log(await d.toObject());
  console.log(await l.toArray());
}

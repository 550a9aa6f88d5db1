// Port of the tutorial's 分布式进程 (distributed processes) example,
// task_worker.py: a worker, on this machine or another, connects to the
// master's manager (distributed_master.ts), takes numbers from its task
// queue and puts their squares on its result queue. Start the master first.
//
//   deno run -A examples/distributed_worker.ts [host] [port]
//
// (defaults: 127.0.0.1 and 5000). Like the tutorial's client, it registers
// the typeids without callables: the objects live on the master.
import { type AutoProxy, BaseManager, Empty, type Queue } from "../mod.ts";
import { sleep } from "./_time.ts";

class QueueManager extends BaseManager {
  declare getTaskQueue: () => Promise<AutoProxy<Queue<number>>>;
  declare getResultQueue: () => Promise<AutoProxy<Queue<string>>>;
}
QueueManager.register("getTaskQueue");
QueueManager.register("getResultQueue");

const serverAddr = Deno.args[0] ?? "127.0.0.1";
const port = Number(Deno.args[1] ?? 5000);
console.log(`Connect to server ${serverAddr}...`);
const m = new QueueManager({ address: [serverAddr, port], authkey: "abc" });
await m.connect();
const task = await m.getTaskQueue();
const result = await m.getResultQueue();
for (let i = 0; i < 10; i++) {
  try {
    const n = await task.get({ timeout: 1000 });
    console.log(`run task ${n} * ${n}...`);
    const r = `${n} * ${n} = ${n * n}`;
    await sleep(1);
    await result.put(r);
  } catch (error) {
    if (!(error instanceof Empty)) throw error;
    console.log("task queue is empty.");
  }
}
await m.shutdown();
console.log("worker exit.");

// Port of the tutorial's 分布式进程 (distributed processes) example,
// task_master.py: a master serves a task queue and a result queue with a
// BaseManager on port 5000 (authkey "abc"), puts ten numbers, and collects
// the squares that workers on other machines (distributed_worker.ts) compute.
//
// Python registers lambdas; start() serves them from a thread of this program
// and finds the callables by reference, as Pool tasks, so here they are
// exported functions. The queues below exist in each thread that imports
// this module; the server's thread serves its own, as Python's forked server
// process serves its copy.
//
//   deno run -A examples/distributed_master.ts [port]     (default 5000)
//   deno run -A examples/distributed_worker.ts [host] [port]
//
// MANAGER_HOST sets the host to listen on: "" (the default, as in the
// tutorial) means every interface, which the authkey guards.
import { type AutoProxy, BaseManager, Queue } from "../mod.ts";
import { randint } from "./_time.ts";

const taskQueue = new Queue<number>();
const resultQueue = new Queue<string>();

/** The queue of tasks, served to the workers. */
export function getTaskQueue(): Queue<number> {
  return taskQueue;
}

/** The queue of results, served to the workers. */
export function getResultQueue(): Queue<string> {
  return resultQueue;
}

/** The manager: one typeid per queue. */
export class QueueManager extends BaseManager {
  declare getTaskQueue: () => Promise<AutoProxy<Queue<number>>>;
  declare getResultQueue: () => Promise<AutoProxy<Queue<string>>>;
}
QueueManager.register("getTaskQueue", getTaskQueue);
QueueManager.register("getResultQueue", getResultQueue);

if (import.meta.main) {
  const host = Deno.env.get("MANAGER_HOST") ?? "";
  const port = Number(Deno.args[0] ?? 5000);
  const manager = new QueueManager({ address: [host, port], authkey: "abc" });
  await manager.start();
  console.log(`Serving on port ${manager.address[1]}...`);
  // Reached through the network, as the workers reach them:
  const task = await manager.getTaskQueue();
  const result = await manager.getResultQueue();
  for (let i = 0; i < 10; i++) {
    const n = randint(0, 10000);
    console.log(`Put task ${n}...`);
    await task.put(n);
  }
  console.log("Try get results...");
  for (let i = 0; i < 10; i++) {
    const r = await result.get({ timeout: 10_000 });
    console.log(`Result: ${r}`);
  }
  await manager.shutdown();
  console.log("master exit.");
}

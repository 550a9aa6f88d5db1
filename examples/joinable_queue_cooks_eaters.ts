// Port of seed 003 (003_392ab84c41d69be6.txt), "JoinableQueue 来实现生产消费者":
// cooks 小王 and 小周 make ten dishes each; eaters 小戴 and 小杨 eat forever and
// call task_done() after each dish. The main process waits for the cooks,
// then for q.join(): every dish eaten. The eaters are daemons and end with it.
//
//   deno run -A examples/joinable_queue_cooks_eaters.ts
import { JoinableQueue, Process } from "../mod.ts";
import { randint, sleep } from "./_time.ts";

export async function producer(name: string, food: string, q: JoinableQueue<string>) {
  for (let i = 0; i < 10; i++) {
    const res = `${food}${i}`;
    await sleep(randint(1, 3)); // cooking takes a while
    await q.put(res);
    console.log(`厨师${name}生成了${res}`);
  }
}

export async function consumer(name: string, q: JoinableQueue<string>) {
  while (true) {
    const res = await q.get(); // waits while the queue is empty
    await sleep(randint(1, 3)); // eating takes a while
    console.log(`吃货${name}吃了${res}`);
    q.taskDone(); // one more dish done; q.join() returns when all are
  }
}

if (import.meta.main) {
  const q = new JoinableQueue<string>();
  // cooks
  const p1 = new Process({ target: producer, args: ["小王", "包子", q] });
  const p3 = new Process({ target: producer, args: ["小周", "土豆丝", q] });
  // eaters
  const c1 = new Process({ target: consumer, args: ["小戴", q] });
  const c2 = new Process({ target: consumer, args: ["小杨", q] });
  // daemons: when the main process ends, so do the eaters
  c1.daemon = true;
  c2.daemon = true;
  p1.start();
  p3.start();
  c1.start();
  c2.start();
  await p1.join();
  await p3.join();
  await q.join(); // every dish eaten (the eaters' task_done() calls)
  console.log("主");
}

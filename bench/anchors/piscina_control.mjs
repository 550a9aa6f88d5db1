// The pool-control workloads on piscina 5 (Node, worker_threads), twins of
// ../pool_control_workloads.ts. piscina has no signal inside a task: aborting
// a running task terminates its thread (and starts another), so the
// abort-to-signal row has no twin; abort-then-next-result does.
//
//   node piscina_control.mjs [scale]
import { Piscina } from "piscina";
import { performance } from "node:perf_hooks";

const report = (workload, value, unit) => console.log(JSON.stringify({ workload, value, unit }));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const filename = new URL("./piscina_control_worker.mjs", import.meta.url).href;
const scale = Number(process.argv[2] ?? 1);
const n = (count) => Math.max(1, Math.round(count * scale));

async function until(cells, index) {
  while (Atomics.load(cells, index) === 0) {
    const wait = Atomics.waitAsync(cells, index, 0, 1000);
    if (wait.async) await wait.value;
  }
}

async function abortLatency(trials) {
  const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
  await pool.run(0, { name: "inc" });
  const toReject = [];
  const thenNext = [];
  for (let i = 0; i < trials + 5; i++) {
    const flag = new SharedArrayBuffer(8);
    const cells = new Int32Array(flag);
    const controller = new AbortController();
    let rejectedAt = 0;
    const running = pool.run(flag, { name: "waitForever", signal: controller.signal }).catch(
      () => rejectedAt = performance.now(),
    );
    await until(cells, 0);
    const started = performance.now();
    controller.abort();
    await running;
    await pool.run(i, { name: "inc" });
    const next = performance.now();
    if (i < 5) continue;
    toReject.push(rejectedAt - started);
    thenNext.push(next - started);
  }
  report("abortToReject", median(toReject) * 1000, "us");
  report("abortThenNext", median(thenNext), "ms");
  await pool.destroy();
}

async function transferCost(trials) {
  const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
  await pool.run(0, { name: "inc" });
  const time = async (move) => {
    let bytes = new Uint8Array(64 * 2 ** 20);
    const times = [];
    for (let i = 0; i < trials + 2; i++) {
      const started = performance.now();
      const task = { bytes, move };
      bytes = await pool.run(task, { name: "bounce", transferList: move ? [bytes.buffer] : [] });
      if (i >= 2) times.push(performance.now() - started);
    }
    if (bytes[0] !== trials + 2) throw new Error("the buffer did not make every trip");
    return median(times);
  };
  report("transfer64", await time(true), "ms");
  report("copy64", await time(false), "ms");
  await pool.destroy();
}

async function elasticGrow(trials) {
  const times = [];
  const cold = [];
  for (let i = 0; i < trials; i++) {
    const pool = new Piscina({ filename, minThreads: 1, maxThreads: 2 });
    await pool.run(0, { name: "inc" });
    const flag = new SharedArrayBuffer(4);
    const started = performance.now();
    await Promise.all([
      pool.run({ flag, count: 2 }, { name: "together" }),
      pool.run({ flag, count: 2 }, { name: "together" }),
    ]);
    times.push(performance.now() - started);
    await pool.destroy();
    const empty = new Piscina({ filename, minThreads: 0, maxThreads: 2 });
    const t = performance.now();
    await empty.run(0, { name: "inc" });
    cold.push(performance.now() - t);
    await empty.destroy();
  }
  report("elasticGrow", median(times), "ms");
  report("elasticFirst", median(cold), "ms");
}

await abortLatency(n(50));
await transferCost(n(10));
await elasticGrow(n(5));

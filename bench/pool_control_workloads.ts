// The pool-control workloads (issue 16) on this project's Pool. Run by
// compare.ts with --v8-flags=--expose-gc (one JSON line per workload on
// stdout); the piscina twins are in anchors/piscina_control.mjs.
//
//   deno run -A --v8-flags=--expose-gc bench/pool_control_workloads.ts [scale]
//
// `scale` (default 1) multiplies the repetitions and the producer's task
// count (10M at 1); 0.01 checks that everything runs in a few seconds.
import { Pool, taskSignal, transfer } from "../mod.ts";

/** The trivial task. */
export function inc(x: number): number {
  return x + 1;
}

/**
 * Reports (cell 0) that it runs, then waits for its signal; at the abort it
 * sets cell 1 and wakes the main thread, which spins on it.
 */
export function waitForAbort(flag: SharedArrayBuffer): Promise<void> {
  const cells = new Int32Array(flag);
  const signal = taskSignal();
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => {
      Atomics.store(cells, 1, 1);
      Atomics.notify(cells, 1);
      resolve();
    }, { once: true });
    Atomics.store(cells, 0, 1);
    Atomics.notify(cells, 0);
  });
}

/** Returns once `count` tasks run at once (cell 0 counts them): only a grown pool finishes it. */
export async function together(flag: SharedArrayBuffer, count: number): Promise<number> {
  const cells = new Int32Array(flag);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  for (let n = Atomics.load(cells, 0); n < count; n = Atomics.load(cells, 0)) {
    const wait = Atomics.waitAsync(cells, 0, n, 1000);
    if (wait.async) await wait.value;
  }
  return count;
}

/** Changes the buffer's first byte and sends it back, moved when it came moved. */
export function bounce(bytes: Uint8Array, move: boolean): Uint8Array {
  bytes[0]++;
  return move ? transfer(bytes, [bytes.buffer]) : bytes;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(workload: string, value: number, unit: string): void {
  console.log(JSON.stringify({ workload, value, unit }));
}

async function until(cells: Int32Array, index: number): Promise<void> {
  while (Atomics.load(cells, index) === 0) {
    const wait = Atomics.waitAsync(cells, index, 0, 1000);
    if (wait.async) await wait.value;
  }
}

/** abort() → the running task's taskSignal() fires, and → its caller's promise rejects. */
async function abortLatency(trials: number): Promise<void> {
  await using pool = new Pool({ processes: 1 });
  await pool.apply(inc, [0]);
  const toSignal: number[] = [];
  const toReject: number[] = [];
  const thenNext: number[] = [];
  for (let i = 0; i < trials + 5; i++) {
    const flag = new SharedArrayBuffer(8);
    const cells = new Int32Array(flag);
    const controller = new AbortController();
    const running = pool.apply(waitForAbort, [flag], { signal: controller.signal }).catch(
      () => {},
    );
    await until(cells, 0);
    const started = performance.now();
    controller.abort();
    await running; // it rejected in abort(): only microtasks ran since
    const rejectedAt = performance.now();
    // Spin: the main thread is free of work here, and a wake-up would add its own latency.
    while (Atomics.load(cells, 1) === 0) {
      // busy
    }
    const fired = performance.now();
    await pool.apply(inc, [i]); // the worker is free again at once
    const next = performance.now();
    if (i < 5) continue; // warm-up
    toSignal.push(fired - started);
    toReject.push(rejectedAt - started);
    thenNext.push(next - started);
  }
  report("abortToSignal", median(toSignal) * 1000, "us");
  report("abortToReject", median(toReject) * 1000, "us");
  report("abortThenNext", median(thenNext), "ms");
}

async function throughput(pool: Pool, n: number): Promise<number> {
  const started = performance.now();
  const results = [];
  for (let i = 0; i < n; i++) results.push(pool.applyAsync(inc, [i]));
  await Promise.all(results);
  return n / ((performance.now() - started) / 1000);
}

/** applyAsync throughput with stats on and off, in alternating runs. */
async function statsCost(runs: number): Promise<void> {
  const on = new Pool({ processes: 2 });
  const off = new Pool({ processes: 2, stats: false });
  try {
    for (const pool of [on, off]) await throughput(pool, 30_000); // warm-up
    const rates = { on: [] as number[], off: [] as number[] };
    for (let run = 0; run < runs; run++) {
      // Alternate which goes first: drift on a shared machine hits both alike.
      const order = run % 2 === 0 ? ["on", "off"] as const : ["off", "on"] as const;
      for (const which of order) {
        rates[which].push(await throughput(which === "on" ? on : off, 100_000));
      }
    }
    report("applyAsyncStatsOn", median(rates.on), "tasks/s");
    report("applyAsyncStatsOff", median(rates.off), "tasks/s");
    report("statsRatio", median(rates.on) / median(rates.off), "x");
  } finally {
    for (const pool of [on, off]) {
      pool.close();
      await pool.join();
    }
  }
}

/**
 * One 64 MiB buffer to a task and back, moved and copied: the round trip.
 * The same buffer goes back and forth, so no allocation (and no collection
 * of 64 MiB garbage) falls inside the timing.
 */
async function transferCost(trials: number): Promise<void> {
  await using pool = new Pool({ processes: 1 });
  const time = async (move: boolean) => {
    let bytes: Uint8Array = new Uint8Array(64 * 2 ** 20);
    const times: number[] = [];
    for (let i = 0; i < trials + 2; i++) {
      const started = performance.now();
      bytes = await pool.apply(bounce, [move ? transfer(bytes, [bytes.buffer]) : bytes, move]);
      if (i >= 2) times.push(performance.now() - started);
    }
    if (bytes[0] !== trials + 2) throw new Error(`the buffer did not make every trip`);
    return median(times);
  };
  report("transfer64", await time(true), "ms");
  report("copy64", await time(false), "ms");
}

/**
 * Growing under load: an elastic pool of 1 to 2 workers, its first worker
 * up, gets two tasks that must run at once; from submit to both results.
 */
async function elasticGrow(trials: number): Promise<void> {
  const times: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < trials; i++) {
    const pool = new Pool({ processes: 2, minProcesses: 1 });
    await pool.apply(inc, [0]);
    const flag = new SharedArrayBuffer(4);
    const started = performance.now();
    await Promise.all([pool.apply(together, [flag, 2]), pool.apply(together, [flag, 2])]);
    times.push(performance.now() - started);
    pool.close();
    await pool.join();
    // minProcesses 0: no worker until the first task.
    const empty = new Pool({ processes: 2, minProcesses: 0 });
    const t = performance.now();
    await empty.apply(inc, [0]);
    cold.push(performance.now() - t);
    empty.close();
    await empty.join();
  }
  report("elasticGrow", median(times), "ms");
  report("elasticFirst", median(cold), "ms");
}

/**
 * A producer of `total` trivial tasks that waits for room (maxQueue 64)
 * before each and keeps no result: the heap after a tenth of them and at the
 * end (after a full GC), and the rate.
 */
async function producer(total: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    return Deno.memoryUsage().heapUsed / 2 ** 20;
  };
  await using pool = new Pool({ processes: 2, maxQueue: 64 });
  let done = 0;
  const callback = () => done++;
  let early = 0;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await pool.waitForRoom();
    pool.applyAsync(inc, [i], { callback });
    if (i === Math.floor(total / 10)) early = heap();
  }
  while (done < total) await pool.apply(inc, [0]);
  const rate = total / ((performance.now() - started) / 1000);
  const end = heap();
  report("producerRate", rate, "tasks/s");
  report("producerHeapGrowth", end - early, "MiB");
  if (!gc) console.error("producer: run with --v8-flags=--expose-gc for a heap after a full GC");
}

if (import.meta.main) {
  const scale = Number(Deno.args[0] ?? 1);
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  await abortLatency(n(50));
  await statsCost(Math.max(2, n(10)));
  await transferCost(n(10));
  await elasticGrow(n(5));
  await producer(n(10_000_000));
}

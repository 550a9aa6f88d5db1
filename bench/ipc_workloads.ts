// The Queue and Pipe comparison workloads on this project: a Process produces,
// the main thread consumes. Run by compare.ts; the same workloads are in
// anchors/python_ipc.py. Every figure is the median of 5 runs.
import {
  type Connection,
  type DictProxy,
  Event,
  Lock,
  Manager,
  Pipe,
  Process,
  Queue,
  Value,
} from "../mod.ts";

const SMALL = 200_000;
const BIG_ITEMS = 40;

/** Puts `count` small items. */
export async function produceSmall(q: Queue<number>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await q.put(i);
}

/** Sends `count` small messages. */
export function sendSmall(conn: Connection, count: number): void {
  for (let i = 0; i < count; i++) conn.send(i);
  conn.close();
}

/** Puts `count` arrays of 8 MiB. */
export async function produceBig(q: Queue<Float64Array>, count: number): Promise<void> {
  const array = new Float64Array(1 << 20);
  for (let i = 0; i < count; i++) {
    array[0] = i;
    await q.put(array);
  }
}

/** Times `count` uncontended acquire + release pairs; puts µs per pair on `out`. */
export async function lockAlone(lock: Lock, count: number, out: Queue<number>): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    await lock.acquire();
    lock.release();
  }
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    await lock.acquire();
    lock.release();
  }
  await out.put(((performance.now() - t) * 1000) / count);
}

/**
 * Adds 1 to `counter` `count` times under its lock, starting when `go` is set
 * (after saying so on `ready`, so that both workers contend from the start);
 * puts on `done` when finished.
 */
export async function incrementLocked(
  counter: Value<"i">,
  count: number,
  ready: Queue<number>,
  go: Event,
  done: Queue<number>,
): Promise<void> {
  const lock = counter.getLock();
  await ready.put(1);
  await go.wait();
  for (let i = 0; i < count; i++) {
    await lock.acquire();
    counter.value += 1;
    lock.release();
  }
  await done.put(1);
}

async function timeLockAlone(): Promise<number> {
  const out = new Queue<number>();
  const p = new Process({ target: lockAlone, args: [new Lock(), 200_000, out] });
  p.start();
  const us = await out.get();
  await p.join();
  return us;
}

// Timed from the moment both workers may begin until both have finished: a
// Process start (~20 ms here) is longer than a worker's whole share, so timing
// from start() would measure two workers taking turns, not a contended lock.
async function timeLockContended(): Promise<number> {
  const counter = new Value("i", 0);
  const each = 100_000;
  const [ready, done, go] = [new Queue<number>(), new Queue<number>(), new Event()];
  const workers = [0, 1].map(() =>
    new Process({ target: incrementLocked, args: [counter, each, ready, go, done] })
  );
  for (const p of workers) p.start();
  for (const _ of workers) await ready.get();
  const t = performance.now();
  go.set();
  for (const _ of workers) await done.get();
  const seconds = (performance.now() - t) / 1000;
  for (const p of workers) await p.join();
  if (counter.value !== 2 * each) throw new Error(`lost increments: ${counter.value}`);
  return (2 * each) / seconds;
}

/** µs per set + get pair on a managed dict: after a short warm-up, and in the steady state. */
interface ManagerRun {
  early: number;
  steady: number;
}

const MANAGER_PAIRS = 5_000;

/**
 * Times set + get round trips on a managed dict and puts µs per pair on
 * `out`: the 5,000 pairs after 2,000 warm-up pairs ("early"), and 5,000
 * pairs after 20,000 ("steady"). V8 keeps compiling the call path in the
 * background for the first ~10,000 pairs, and on two vCPUs its compiler
 * threads compete with the two busy threads: the slow pairs (wake-ups after
 * a stall) come in bursts in that phase.
 */
export async function managerRoundTrips(d: DictProxy, out: Queue<ManagerRun>): Promise<void> {
  const pairs = async (count: number) => {
    const t = performance.now();
    for (let i = 0; i < count; i++) {
      await d.set("k", i);
      await d.get("k");
    }
    return ((performance.now() - t) * 1000) / count;
  };
  await pairs(2_000);
  const early = await pairs(MANAGER_PAIRS);
  await pairs(20_000 - 2_000 - MANAGER_PAIRS);
  const steady = await pairs(MANAGER_PAIRS);
  await out.put({ early, steady });
}

async function timeManager(): Promise<ManagerRun> {
  await using manager = new Manager();
  const out = new Queue<ManagerRun>();
  const p = new Process({ target: managerRoundTrips, args: [manager.dict(), out] });
  p.start();
  const run = await out.get();
  await p.join();
  return run;
}

function report(workload: string, value: number, unit: string): void {
  console.log(JSON.stringify({ workload, value, unit }));
}

/** What a small-item run measured: rates with and without the Process start, in msgs/s. */
interface SmallRun {
  withStart: number;
  steady: number;
  /** ms from start() to the first item received. */
  firstItem: number;
}

function smallRun(t0: number, tFirst: number, tEnd: number): SmallRun {
  return {
    withStart: SMALL / ((tEnd - t0) / 1000),
    // From the first item to the last: SMALL - 1 items.
    steady: (SMALL - 1) / ((tEnd - tFirst) / 1000),
    firstItem: tFirst - t0,
  };
}

async function timeQueueSmall(): Promise<SmallRun> {
  const q = new Queue<number>();
  const t0 = performance.now();
  const p = new Process({ target: produceSmall, args: [q, SMALL] });
  p.start();
  await q.get();
  const tFirst = performance.now();
  for (let i = 1; i < SMALL; i++) await q.get();
  const tEnd = performance.now();
  await p.join();
  return smallRun(t0, tFirst, tEnd);
}

async function timePipeSmall(): Promise<SmallRun> {
  const [receiver, sender] = Pipe({ duplex: false });
  const t0 = performance.now();
  const p = new Process({ target: sendSmall, args: [sender, SMALL] });
  p.start();
  sender.close();
  await receiver.recv();
  const tFirst = performance.now();
  for (let i = 1; i < SMALL; i++) await receiver.recv();
  const tEnd = performance.now();
  await p.join();
  receiver.close();
  return smallRun(t0, tFirst, tEnd);
}

async function timeQueueBig(): Promise<number> {
  const q = new Queue<Float64Array>(4);
  const t = performance.now();
  const p = new Process({ target: produceBig, args: [q, BIG_ITEMS] });
  p.start();
  for (let i = 0; i < BIG_ITEMS; i++) await q.get();
  await p.join();
  return (BIG_ITEMS * 8) / ((performance.now() - t) / 1000) * 1.048576; // MB/s (10^6 bytes)
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

const RUNS = 5;

if (import.meta.main) {
  for (const [name, run] of [["queue", timeQueueSmall], ["pipe", timePipeSmall]] as const) {
    const runs: SmallRun[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await run());
    report(name, median(runs.map((r) => r.steady)), "msgs/s");
    report(`${name}WithStart`, median(runs.map((r) => r.withStart)), "msgs/s");
    report(`${name}FirstItem`, median(runs.map((r) => r.firstItem)), "ms");
  }
  for (
    const [name, unit, run] of [
      ["queue8m", "MB/s", timeQueueBig],
      ["lockAlone", "us", timeLockAlone],
      ["lockContended", "increments/s", timeLockContended],
    ] as const
  ) {
    const values = [];
    for (let i = 0; i < RUNS; i++) values.push(await run());
    report(name, median(values), unit);
  }
  const managerRuns: ManagerRun[] = [];
  for (let i = 0; i < RUNS; i++) managerRuns.push(await timeManager());
  report("manager", median(managerRuns.map((r) => r.steady)), "us");
  report("managerEarly", median(managerRuns.map((r) => r.early)), "us");
}

// Task functions of the CPython ports (tests/cpython/*_test.ts): the
// classmethods and module-level functions that CPython's
// Lib/test/_test_multiprocessing.py hands to Process and Pool. Workers import
// this module through `modules`, so every target is an exported function
// declaration (pickle's by-reference functions, in Deno's idiom).
//
// Seconds become milliseconds; a Python `time.sleep` in a child becomes an
// awaited timer; `sys.exit(1)` or an `assert` in a child becomes a throw (the
// Process then ends with exitcode 1, as Python's does).
import {
  type Barrier,
  BrokenBarrierError,
  type Condition,
  type Connection,
  currentProcess,
  type Event,
  type JoinableQueue,
  type Lock,
  type NamespaceProxy,
  parentProcess,
  Process,
  type Queue,
  type RLock,
  type Semaphore,
  type SharedArray,
  type SimpleQueue,
  type Value,
} from "../../mod.ts";

/** This module, for `modules` of processes started from a worker. */
const HERE = import.meta.url;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `lock.locked()` for a Lock or an RLock (RLock.locked() is still to come in lib/). */
export function isLocked(lock: Lock | RLock): boolean {
  return (lock as unknown as { locked(): boolean }).locked();
}

// ---------------------------------------------------------------- _TestProcess

export async function testArgs(q: Queue<unknown>, arg: unknown): Promise<void> {
  await q.put(arg);
}

/** `_TestProcess._test`: no kwargs and no authkey here (see process_test.ts). */
export async function testProcessTarget(q: Queue<unknown>, ...args: unknown[]): Promise<void> {
  const current = currentProcess();
  await q.put(args);
  await q.put(current.name);
  await q.put(current.pid);
}

export function sendParentProcess(wconn: Connection): void {
  const parent = parentProcess()!;
  wconn.send([parent.pid, parent.name]);
}

export async function sleepSome(): Promise<void> {
  await sleep(100_000);
}

export async function sleepSomeEvent(event: Event): Promise<void> {
  event.set();
  await sleep(100_000);
}

export async function testSleep(ms: number): Promise<void> {
  await sleep(ms);
}

/** `target=event.wait` (a bound method cannot travel by reference). */
export async function waitEvent(event: Event): Promise<void> {
  await event.wait();
}

export async function testRecursion(wconn: Connection, id: number[]): Promise<void> {
  wconn.send(id);
  if (id.length < 2) {
    for (let i = 0; i < 2; i++) {
      const p = new Process({ target: testRecursion, args: [wconn, [...id, i]], modules: [HERE] });
      p.start();
      await p.join();
    }
  }
}

/** `_test_wait_for_threads`: a timer stands in for the non-daemon thread `func1`. */
export function testWaitForThreads(evt: Event): void {
  setTimeout(() => evt.set(), 500);
}

// ------------------------------------------------------------------ _TestQueue

export async function testPut(
  queue: Queue<number>,
  childCanStart: Event,
  parentCanContinue: Event,
): Promise<void> {
  await childCanStart.wait();
  for (let i = 0; i < 6; i++) await queue.get();
  parentCanContinue.set();
}

export async function testGet(
  queue: Queue<number>,
  childCanStart: Event,
  parentCanContinue: Event,
): Promise<void> {
  await childCanStart.wait();
  // queue.put(1)  (commented out in CPython too)
  await queue.put(2);
  await queue.put(3);
  await queue.put(4);
  await queue.put(5);
  parentCanContinue.set();
}

export async function testFork(queue: Queue<number>): Promise<void> {
  for (let i = 10; i < 20; i++) await queue.put(i);
}

export async function testTaskDone(q: JoinableQueue<number | null>): Promise<void> {
  for (let obj = await q.get(); obj !== null; obj = await q.get()) {
    await sleep(100); // DELTA
    q.taskDone();
  }
}

// ------------------------------------------------------------------- _TestLock

export async function testLockLocked2Processes(
  lock: Lock | RLock,
  event: Event,
  res: Value<"b">,
): Promise<void> {
  await lock.acquire();
  res.value = isLocked(lock) ? 1 : 0;
  event.set();
}

// -------------------------------------------------------------- _TestCondition

/** `_TestCondition.f`. */
export async function condF(
  cond: Condition,
  sleeping: Semaphore,
  woken: Semaphore,
  timeout?: number,
): Promise<void> {
  await cond.acquire();
  sleeping.release();
  await cond.wait(timeout);
  woken.release();
  cond.release();
}

export async function testWaitforF(cond: Condition, state: Value<"i">): Promise<void> {
  using _held = await cond.hold();
  state.value = 0;
  cond.notify();
  const result = await cond.waitFor(() => state.value === 4);
  if (!result || state.value !== 4) throw new Error("sys.exit(1)");
}

export async function testWaitforTimeoutF(
  cond: Condition,
  state: Value<"i">,
  success: Value<"i">,
  sem: Semaphore,
): Promise<void> {
  sem.release();
  using _held = await cond.hold();
  const expected = 100;
  const started = performance.now();
  const result = await cond.waitFor(() => state.value === 4, expected);
  const dt = performance.now() - started;
  if (!result && expected - 100 <= dt) success.value = 1; // CLOCK_RES = 100 ms
}

/** `_test_wait_result` without the SIGINT half (no signals between threads). */
export async function testWaitResult(c: Condition): Promise<void> {
  using _held = await c.hold();
  c.notify();
}

// ------------------------------------------------------------------ _TestEvent

export async function testEvent(event: Event): Promise<void> {
  await sleep(100); // TIMEOUT2
  event.set();
}

// ---------------------------------------------------------------- _TestBarrier

export const BARRIER_N = 5;

/** `_DummyList`: a counter in shared memory; `append` adds one, `len` reads it. */
export type DummyList = Value<"i">;

export async function append(list: DummyList): Promise<void> {
  using _held = await list.getLock().hold();
  list.value += 1;
}

export function len(list: DummyList): number {
  return list.value;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`AssertionError: ${what}`);
}

export async function multipass(
  barrier: Barrier,
  results: [DummyList, DummyList],
  n: number,
): Promise<void> {
  const m = barrier.parties;
  check(m === BARRIER_N, "m == cls.N");
  for (let i = 0; i < n; i++) {
    await append(results[0]);
    check(len(results[1]) === i * m, "len(results[1]) == i * m");
    await barrier.wait();
    await append(results[1]);
    check(len(results[0]) === (i + 1) * m, "len(results[0]) == (i + 1) * m");
    await barrier.wait();
  }
  check(barrier.nWaiting === 0, "barrier.n_waiting == 0");
  check(!barrier.broken, "not barrier.broken");
}

export async function testWaitReturnF(barrier: Barrier, queue: Queue<number>): Promise<void> {
  const res = await barrier.wait();
  await queue.put(res);
}

/** The results list `AppendTrue` appends to, set by each thread before it meets. */
let actionResults: DummyList | undefined;

/** `AppendTrue(results)`: a barrier action takes no arguments, so it finds the list here. */
export async function appendTrueAction(): Promise<void> {
  await append(actionResults!);
}

export async function testActionF(barrier: Barrier, results: DummyList): Promise<void> {
  actionResults = results;
  await barrier.wait();
  if (len(results) !== 1) throw new Error("RuntimeError");
}

class RuntimeError extends Error {
  override name = "RuntimeError";
}

export async function testAbortF(
  barrier: Barrier,
  results1: DummyList,
  results2: DummyList,
): Promise<void> {
  try {
    const i = await barrier.wait();
    if (i === Math.floor(BARRIER_N / 2)) throw new RuntimeError();
    await barrier.wait();
    await append(results1);
  } catch (error) {
    if (error instanceof BrokenBarrierError) await append(results2);
    else if (error instanceof RuntimeError) barrier.abort();
    else throw error;
  }
}

export async function testResetF(
  barrier: Barrier,
  results1: DummyList,
  results2: DummyList,
  results3: DummyList,
): Promise<void> {
  const i = await barrier.wait();
  if (i === Math.floor(BARRIER_N / 2)) {
    // Wait until the other threads are all in the barrier.
    while (barrier.nWaiting < BARRIER_N - 1) await sleep(1);
    barrier.reset();
  } else {
    try {
      await barrier.wait();
      await append(results1);
    } catch (error) {
      if (!(error instanceof BrokenBarrierError)) throw error;
      await append(results2);
    }
  }
  // Now, pass the barrier again
  await barrier.wait();
  await append(results3);
}

export async function testAbortAndResetF(
  barrier: Barrier,
  barrier2: Barrier,
  results1: DummyList,
  results2: DummyList,
  results3: DummyList,
): Promise<void> {
  try {
    const i = await barrier.wait();
    if (i === Math.floor(BARRIER_N / 2)) throw new RuntimeError();
    await barrier.wait();
    await append(results1);
  } catch (error) {
    if (error instanceof BrokenBarrierError) await append(results2);
    else if (error instanceof RuntimeError) barrier.abort();
    else throw error;
  }
  // Synchronize and reset the barrier.  Must synchronize first so
  // that everyone has left it when we reset, and after so that no
  // one enters it before the reset.
  if ((await barrier2.wait()) === Math.floor(BARRIER_N / 2)) barrier.reset();
  await barrier2.wait();
  await barrier.wait();
  await append(results3);
}

export async function testTimeoutF(barrier: Barrier, results: DummyList): Promise<void> {
  const i = await barrier.wait();
  if (i === Math.floor(BARRIER_N / 2)) {
    // One thread is late!
    await sleep(1000);
  }
  try {
    await barrier.wait(500);
  } catch (error) {
    if (!(error instanceof BrokenBarrierError)) throw error;
    await append(results);
  }
}

export const BARRIER_DEFAULT_TIMEOUT = 30_000;

export async function testDefaultTimeoutF(barrier: Barrier, results: DummyList): Promise<void> {
  const i = await barrier.wait(BARRIER_DEFAULT_TIMEOUT);
  if (i === Math.floor(BARRIER_N / 2)) {
    // One thread is later than the default timeout
    await sleep(1000);
  }
  try {
    await barrier.wait();
  } catch (error) {
    if (!(error instanceof BrokenBarrierError)) throw error;
    await append(results);
  }
}

export async function testThousandF(
  barrier: Barrier,
  passes: number,
  conn: Connection,
  lock: Lock,
): Promise<void> {
  for (let i = 0; i < passes; i++) {
    await barrier.wait();
    using _held = await lock.hold();
    conn.send(i);
  }
}

/** The functions a `Bunch` runs, by name: a function cannot travel as an argument. */
const BUNCH_TARGETS: Record<string, (...args: never[]) => Promise<void>> = {
  multipass,
  testWaitReturnF,
  testActionF,
  testAbortF,
  testResetF,
  testAbortAndResetF,
  testTimeoutF,
  testDefaultTimeoutF,
};

/** `Bunch.task`. */
export async function bunchTask(
  started: DummyList,
  finished: DummyList,
  canExit: Event,
  f: string,
  args: unknown[],
): Promise<void> {
  await append(started);
  try {
    await (BUNCH_TARGETS[f] as (...args: unknown[]) => Promise<void>)(...args);
  } finally {
    await append(finished);
    await canExit.wait(30_000);
    check(canExit.isSet(), "self._can_exit.is_set()");
  }
}

// ---------------------------------------------------------- _TestValue / Array

/** `_TestValue.codes_values`, with 'B' for the 'c' CPython uses (see value_test.ts). */
export const CODES_VALUES = [
  ["i", 4343, 24234],
  ["d", 3.625, -4.25],
  ["h", -232, 234],
  ["q", 2n ** 33n, 2n ** 34n],
  ["B", 0x78, 0x79], // latin('x'), latin('y')
] as const;

export function setValues(values: Value[]): void {
  values.forEach((sv, i) => sv.value = CODES_VALUES[i][2]);
}

/** `_TestArray.f`: running sums, in place. */
export function cumulate(seq: number[] | SharedArray<"i">): void {
  for (let i = 1; i < seq.length; i++) seq[i] += seq[i - 1];
}

// ------------------------------------------------------------------- _TestPool

/** `sqr(x, wait=0.0)`, the wait in ms. */
export async function sqr(x: number, wait = 0): Promise<number> {
  if (wait > 0) await sleep(wait);
  return x * x;
}

export function mul(x: number, y: number): number {
  return x * y;
}

export class ValueError extends Error {
  override name = "ValueError";
}

export async function raiseLargeValueError(wait: number): Promise<never> {
  await sleep(wait);
  throw new ValueError("x".repeat(1024 ** 2));
}

export function identity<T>(x: T): T {
  return x;
}

/** Python's `int(s)` for decimal strings: ValueError otherwise. */
export function int(s: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(s)) {
    throw new ValueError(`invalid literal for int() with base 10: '${s}'`);
  }
  return Number.parseInt(s, 10);
}

export function testTraceback(): never {
  throw new Error("123"); // some comment
}

export function testWrappedException(): never {
  throw new Error("foo");
}

/** `time.sleep` for `test_terminate`'s map (ms). */
export async function sleepMs(ms: number): Promise<void> {
  await sleep(ms);
}

// ------------------------------------------------------- _TestPoolWorkerErrors

export class KeyError extends Error {
  override name = "KeyError";
}

export function raising(): never {
  throw new KeyError("key");
}

export function unpickleableResult(): unknown {
  return () => 42;
}

// ----------------------------------------------------- _TestPoolWorkerLifetime

/** `sqr`, and the pid of the worker that ran it (Python reads `p._pool` instead). */
export function sqrAndPid(x: number): [number, number] {
  return [x * x, currentProcess().pid];
}

// ------------------------------------------------------------- _TestConnection

/** `_echo`: echoes bytes until the empty SENTINEL. */
export async function echo(conn: Connection): Promise<void> {
  for (let msg = await conn.recvBytes(); msg.length > 0; msg = await conn.recvBytes()) {
    conn.sendBytes(msg);
  }
  conn.close();
}

// ------------------------------------------------------------------- _TestPoll

export async function childStrings(conn: Connection, strings: Uint8Array[]): Promise<void> {
  for (const s of strings) {
    await sleep(100);
    conn.sendBytes(s);
  }
  conn.close();
}

/** `_child_boundaries`; `polling` is set just before the poll (CPython sleeps 2 s instead). */
export async function childBoundaries(r: Connection, polling: Event): Promise<void> {
  polling.set();
  await r.poll(5000);
}

export function childDontMerge(b: Connection): void {
  b.sendBytes(new TextEncoder().encode("a"));
  b.sendBytes(new TextEncoder().encode("b"));
  b.sendBytes(new TextEncoder().encode("cd"));
}

// ------------------------------------------------------------ TestInitializers

export async function initializer(ns: NamespaceProxy): Promise<void> {
  await ns.set("test", (await ns.get("test") as number) + 1);
}

// ------------------------------------------------------------- TestSimpleQueue

export async function testEmpty(
  queue: SimpleQueue<boolean>,
  childCanStart: Event,
  parentCanContinue: Event,
): Promise<void> {
  await childCanStart.wait();
  // issue 30301, could fail under spawn and forkserver
  try {
    await queue.put(queue.empty());
    await queue.put(queue.empty());
  } finally {
    parentCanContinue.set();
  }
}

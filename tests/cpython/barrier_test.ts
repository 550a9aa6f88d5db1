// CPython's _TestBarrier (Lib/test/_test_multiprocessing.py), ported: every test of the class.
//
// Changed:
// - `_DummyList` (a length in shared memory under a lock) is a Value("i") under its lock.
// - Bunch runs the function in N-1 Processes by name (a function cannot travel as an argument),
//   and close() also checks that each ended with exitcode 0: an `assert` that fails in a child
//   ends it with 1. CPython's Bunch children are daemons; the flag is dropped (see
//   process_test.ts).
// - test_action: the action is `AppendTrue(results)`, a callable object; an action here is an
//   exported function of no arguments, so it finds the list through module state that each
//   thread sets before it meets.
import assert from "node:assert/strict";
import { Barrier, Event, Lock, Pipe, Process, Queue, Value } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

const N = tasks.BARRIER_N;
const defaultTimeout = tasks.BARRIER_DEFAULT_TIMEOUT;
const { len } = tasks;

function DummyList(): tasks.DummyList {
  return new Value("i", 0);
}

type BunchTarget = keyof typeof tasks & string;

/** A bunch of `n` processes running the same function `f`. */
class Bunch {
  #n: number;
  #started = DummyList();
  #finished = DummyList();
  #canExit = new Event();
  #processes: Process[] = [];

  constructor(f: BunchTarget, args: unknown[], n: number, waitBeforeExit = false) {
    this.#n = n;
    if (!waitBeforeExit) this.#canExit.set();
    for (let i = 0; i < n; i++) {
      const p = new Process({
        target: tasks.bunchTask,
        args: [this.#started, this.#finished, this.#canExit, f, args],
        modules,
      });
      p.start();
      this.#processes.push(p);
    }
  }

  async waitForStarted(): Promise<void> {
    while (len(this.#started) < this.#n) await wait();
  }

  async waitForFinished(): Promise<void> {
    while (len(this.#finished) < this.#n) await wait();
  }

  doFinish(): void {
    this.#canExit.set();
  }

  async close(): Promise<void> {
    for (const p of this.#processes) await p.join();
    for (const p of this.#processes) assert.equal(p.exitcode, 0, `${p.name} failed`);
  }
}

/** `_wait()`: a crude wait/yield not relying on synchronization primitives. */
function wait(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}

/** `run_threads(f, args)`: f in N-1 processes and on the main thread. */
async function runThreads(f: BunchTarget, args: unknown[]): Promise<void> {
  const b = new Bunch(f, args, N - 1);
  try {
    await (tasks[f] as (...args: unknown[]) => Promise<void>)(...args);
    await b.waitForFinished();
  } finally {
    await b.close();
  }
}

/** A test with CPython's setUp (a barrier of N, default timeout 30 s) and tearDown (abort). */
function barrierTest(name: string, fn: (barrier: Barrier) => Promise<void>) {
  Deno.test(`_TestBarrier.${name}`, async () => {
    const barrier = new Barrier(N, { timeout: defaultTimeout });
    try {
      await fn(barrier);
    } finally {
      barrier.abort();
    }
  });
}

async function testBarrier(barrier: Barrier, passes: number): Promise<void> {
  const results = [DummyList(), DummyList()];
  await runThreads("multipass", [barrier, results, passes]);
}

// Test that a barrier is passed in lockstep
barrierTest("test_barrier", (barrier) => testBarrier(barrier, 1));

// Test that a barrier works for 10 consecutive runs
barrierTest("test_barrier_10", (barrier) => testBarrier(barrier, 10));

// test the return value from barrier.wait
barrierTest("test_wait_return", async (barrier) => {
  const queue = new Queue<number>();
  await runThreads("testWaitReturnF", [barrier, queue]);
  const results = [];
  for (let i = 0; i < N; i++) results.push(await queue.get());
  assert.equal(results.filter((r) => r === 0).length, 1);
  queue.close();
});

// Test the 'action' callback
barrierTest("test_action", async () => {
  const results = DummyList();
  const barrier = new Barrier(N, { action: tasks.appendTrueAction });
  await runThreads("testActionF", [barrier, results]);
  assert.equal(len(results), 1);
});

// Test that an abort will put the barrier in a broken state
barrierTest("test_abort", async (barrier) => {
  const results1 = DummyList();
  const results2 = DummyList();
  await runThreads("testAbortF", [barrier, results1, results2]);
  assert.equal(len(results1), 0);
  assert.equal(len(results2), N - 1);
  assert.ok(barrier.broken);
});

// Test that a 'reset' on a barrier frees the waiting threads
barrierTest("test_reset", async (barrier) => {
  const results1 = DummyList();
  const results2 = DummyList();
  const results3 = DummyList();
  await runThreads("testResetF", [barrier, results1, results2, results3]);
  assert.equal(len(results1), 0);
  assert.equal(len(results2), N - 1);
  assert.equal(len(results3), N);
});

// Test that a barrier can be reset after being broken.
barrierTest("test_abort_and_reset", async (barrier) => {
  const results1 = DummyList();
  const results2 = DummyList();
  const results3 = DummyList();
  const barrier2 = new Barrier(N);

  await runThreads("testAbortAndResetF", [barrier, barrier2, results1, results2, results3]);
  assert.equal(len(results1), 0);
  assert.equal(len(results2), N - 1);
  assert.equal(len(results3), N);
});

// Test wait(timeout)
barrierTest("test_timeout", async (barrier) => {
  const results = DummyList();
  await runThreads("testTimeoutF", [barrier, results]);
  assert.equal(len(results), barrier.parties);
});

// Test the barrier's default timeout
barrierTest("test_default_timeout", async () => {
  const barrier = new Barrier(N, { timeout: 500 });
  const results = DummyList();
  await runThreads("testDefaultTimeoutF", [barrier, results]);
  assert.equal(len(results), barrier.parties);
});

barrierTest("test_single_thread", async () => {
  const b = new Barrier(1);
  await b.wait();
  await b.wait();
});

barrierTest("test_thousand", async (barrier) => {
  const passes = 1000;
  const lock = new Lock();
  const [conn, childConn] = Pipe({ duplex: false });
  const processes = [];
  try {
    for (let j = 0; j < N; j++) {
      const p = new Process({
        target: tasks.testThousandF,
        args: [barrier, passes, childConn, lock],
        modules,
      });
      p.start();
      processes.push(p);
    }

    for (let i = 0; i < passes; i++) {
      for (let j = 0; j < N; j++) assert.equal(await conn.recv(), i);
    }
  } finally {
    for (const p of processes) await p.join(); // addCleanup(p.join)
  }
  for (const p of processes) assert.equal(p.exitcode, 0);
  conn.close();
  childConn.close();
});

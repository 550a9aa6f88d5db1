// CPython's _TestCondition (Lib/test/_test_multiprocessing.py), ported: every test of the class.
//
// Changed:
// - CPython runs `f` in a Process and in a threading.Thread of the test process. Here the thread
//   is a second Process: async code on the main thread is one RLock owner with the test itself,
//   so `f` there would re-enter the condition's lock the test holds.
// - check_invariant() reads CPython's private counters (_sleeping_count, _woken_count,
//   _wait_semaphore); it is left out of test_notify, test_notify_all and test_notify_n.
// - test_wait_result: the half that sends SIGINT to the parent (KeyboardInterrupt in c.wait) is
//   left out, as CPython leaves it out for threads and managers; so is the child's sleep(1)
//   that comes before that signal.
// - The children are daemons in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { Condition, Process, Semaphore, Value } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import {
  assertReachesEventually,
  assertTiming,
  joinProcess,
  LONG_TIMEOUT,
  modules,
  TIMEOUT1,
  Timing,
} from "./_helpers.ts";

const DELTA = 100;

function startF(cond: Condition, sleeping: Semaphore, woken: Semaphore, timeout?: number) {
  const args = timeout === undefined ? [cond, sleeping, woken] : [cond, sleeping, woken, timeout];
  const p = new Process({ target: tasks.condF, args, modules });
  p.start();
  return p;
}

/** `join_process` / `threading_helper.join_thread` of each, then their exit codes. */
async function joinAll(workers: Process[]): Promise<void> {
  for (const w of workers) await joinProcess(w);
  for (const w of workers) assert.equal(w.exitcode, 0);
}

Deno.test("_TestCondition.test_notify", async () => {
  const cond = new Condition();
  const sleeping = new Semaphore(0);
  const woken = new Semaphore(0);

  const p = startF(cond, sleeping, woken);
  const t = startF(cond, sleeping, woken); // the threading.Thread

  // wait for both children to start sleeping
  await sleeping.acquire();
  await sleeping.acquire();

  // check no process/thread has woken up
  await assertReachesEventually(() => woken.getValue(), 0);

  // wake up one process/thread
  await cond.acquire();
  cond.notify();
  cond.release();

  // check one process/thread has woken up
  await assertReachesEventually(() => woken.getValue(), 1);

  // wake up another
  await cond.acquire();
  cond.notify();
  cond.release();

  // check other has woken up
  await assertReachesEventually(() => woken.getValue(), 2);

  await joinAll([t, p]);
});

Deno.test("_TestCondition.test_notify_all", async () => {
  const cond = new Condition();
  const sleeping = new Semaphore(0);
  const woken = new Semaphore(0);

  // start some threads/processes which will timeout
  const workers: Process[] = [];
  for (let i = 0; i < 3; i++) {
    workers.push(startF(cond, sleeping, woken, TIMEOUT1));
    workers.push(startF(cond, sleeping, woken, TIMEOUT1)); // the threading.Thread
  }

  // wait for them all to sleep
  for (let i = 0; i < 6; i++) await sleeping.acquire();

  // check they have all timed out
  for (let i = 0; i < 6; i++) await woken.acquire();
  assert.equal(woken.getValue(), 0);

  // start some more threads/processes
  for (let i = 0; i < 3; i++) {
    workers.push(startF(cond, sleeping, woken));
    workers.push(startF(cond, sleeping, woken)); // the threading.Thread
  }

  // wait for them to all sleep
  for (let i = 0; i < 6; i++) await sleeping.acquire();

  // check no process/thread has woken up
  await new Promise((resolve) => setTimeout(resolve, DELTA));
  assert.equal(woken.getValue(), 0);

  // wake them all up
  await cond.acquire();
  cond.notify_all();
  cond.release();

  // check they have all woken
  for (let i = 0; i < 6; i++) await woken.acquire();
  assert.equal(woken.getValue(), 0);

  await joinAll(workers);
});

Deno.test("_TestCondition.test_notify_n", async () => {
  const cond = new Condition();
  const sleeping = new Semaphore(0);
  const woken = new Semaphore(0);

  // start some threads/processes
  const workers: Process[] = [];
  for (let i = 0; i < 3; i++) {
    workers.push(startF(cond, sleeping, woken));
    workers.push(startF(cond, sleeping, woken)); // the threading.Thread
  }

  // wait for them to all sleep
  for (let i = 0; i < 6; i++) await sleeping.acquire();

  // check no process/thread has woken up
  await new Promise((resolve) => setTimeout(resolve, DELTA));
  assert.equal(woken.getValue(), 0);

  // wake some of them up
  await cond.acquire();
  cond.notify(2);
  cond.release();

  // check 2 have woken
  await assertReachesEventually(() => woken.getValue(), 2);

  // wake the rest of them
  await cond.acquire();
  cond.notify(4);
  cond.release();

  await assertReachesEventually(() => woken.getValue(), 6);

  // doesn't do anything more
  await cond.acquire();
  cond.notify(3);
  cond.release();

  assert.equal(woken.getValue(), 6);

  await joinAll(workers);
});

Deno.test("_TestCondition.test_timeout", async () => {
  const cond = new Condition();
  const wait = new Timing();
  await cond.acquire();
  const res = await wait.run(() => cond.wait(TIMEOUT1));
  cond.release();
  assert.equal(res, false);
  assertTiming(wait.elapsed, TIMEOUT1);
});

Deno.test({
  // The child notifies the parent, then waits itself: its wait must not take the wake-up meant
  // for the parent (which hung both on a loaded machine before notify() was fixed).
  name: "_TestCondition.test_waitfor",
  fn: testWaitfor,
});

async function testWaitfor(): Promise<void> {
  // based on test in test/lock_tests.py
  const cond = new Condition();
  const state = new Value("i", -1);

  const p = new Process({ target: tasks.testWaitforF, args: [cond, state], modules });
  p.start();

  {
    using _held = await cond.hold();
    const result = await cond.wait_for(() => state.value === 0);
    assert.ok(result);
    assert.equal(state.value, 0);
  }

  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    using _held = await cond.hold();
    state.value += 1;
    cond.notify();
  }

  await joinProcess(p);
  assert.equal(p.exitcode, 0);
}

Deno.test("_TestCondition.test_waitfor_timeout", async () => {
  // based on test in test/lock_tests.py
  const cond = new Condition();
  const state = new Value("i", 0);
  const success = new Value("i", 0); // False
  const sem = new Semaphore(0);

  const p = new Process({
    target: tasks.testWaitforTimeoutF,
    args: [cond, state, success, sem],
    modules,
  });
  p.start();
  assert.ok(await sem.acquire({ timeout: LONG_TIMEOUT }));

  // Only increment 3 times, so state == 4 is never reached.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    using _held = await cond.hold();
    state.value += 1;
    cond.notify();
  }

  await joinProcess(p);
  assert.ok(success.value);
});

Deno.test("_TestCondition.test_wait_result", async () => {
  const c = new Condition();
  {
    using _held = await c.hold();
    assert.equal(await c.wait(0), false);
    assert.equal(await c.wait(100), false);

    const p = new Process({ target: tasks.testWaitResult, args: [c], modules });
    p.start();

    assert.ok(await c.wait(60_000));

    await p.join();
  }
});

// CPython's _TestLock (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_repr_lock, test_repr_rlock: a lock's repr() names its owner (MainProcess|T1,
//   SomeOtherProcess, ...); locks here have no such repr, and there are no threads inside a
//   process to name.
import assert from "node:assert/strict";
import { Event, Lock, Process, RLock, Value } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

const { isLocked } = tasks;

Deno.test("_TestLock.test_lock", async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire(), true);
  assert.ok(lock.locked());
  assert.equal(await lock.acquire({ block: false }), false);
  assert.equal(lock.release(), undefined);
  assert.ok(!lock.locked());
  // Python raises ValueError (or threading.ThreadError); here an Error.
  assert.throws(() => lock.release(), /not locked/);
});

Deno.test("_TestLock.test_lock_locked_2processes", async () => {
  const lock = new Lock();
  const event = new Event();
  const res = new Value("b", 0);
  const p = new Process({
    target: tasks.testLockLocked2Processes,
    args: [lock, event, res],
    modules,
  });
  p.start();
  await event.wait();
  assert.ok(lock.locked());
  assert.ok(res.value);
  await p.join();
  assert.equal(p.exitcode, 0);
});

Deno.test({
  name: "_TestLock.test_rlock",
  async fn() {
    const lock = new RLock();
    assert.equal(await lock.acquire(), true);
    assert.ok(isLocked(lock));
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.release(), undefined);
    assert.ok(isLocked(lock));
    assert.equal(lock.release(), undefined);
    assert.equal(lock.release(), undefined);
    assert.ok(!isLocked(lock));
    // Python raises AssertionError or RuntimeError; here an Error.
    assert.throws(() => lock.release(), /does not hold it/);
  },
});

Deno.test({
  name: "_TestLock.test_rlock_locked_2processes",
  async fn() {
    const rlock = new RLock();
    const event = new Event();
    const res = new Value("b", 0);
    // target is the same as for the test_lock_locked_2processes test.
    const p = new Process({
      target: tasks.testLockLocked2Processes,
      args: [rlock, event, res],
      modules,
    });
    p.start();
    await event.wait();
    assert.ok(isLocked(rlock));
    assert.ok(res.value);
    await p.join();
    assert.equal(p.exitcode, 0);
  },
});

Deno.test("_TestLock.test_lock_context", async () => {
  // `with self.Lock() as locked:` is `using locked = await lock.hold()`. Departure: Python's
  // __enter__ returns True; hold() returns the guard that releases the lock at the block's end.
  const lock = new Lock();
  {
    using locked = await lock.hold();
    assert.ok(locked);
    assert.ok(lock.locked());
  }
  assert.ok(!lock.locked());
});

Deno.test("_TestLock.test_rlock_context", async () => {
  const lock = new RLock();
  {
    using locked = await lock.hold();
    assert.ok(locked);
  }
});

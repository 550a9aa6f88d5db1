import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  Pool,
  Process,
  Queue,
  RLock,
  Semaphore,
  TimeoutError,
  Value,
} from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Lock gives mutual exclusion across workers (2 workers incrementing a shared Value)", async () => {
  await using pool = new Pool({ processes: 2, modules });
  const counter = new Value("i", 0);
  await Promise.all([
    pool.apply(ipc.incrementUnderLock, [counter, 5_000]),
    pool.apply(ipc.incrementUnderLock, [counter, 5_000]),
    ipc.incrementUnderLock(counter, 2_000),
  ]);
  assert.equal(counter.value, 12_000);
});

Deno.test("Lock: non-blocking and timed acquire, release errors, guards for using", async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire(), true);
  assert.ok(lock.locked());
  assert.equal(await lock.acquire({ block: false }), false);
  const started = performance.now();
  assert.equal(await lock.acquire({ timeout: 80 }), false);
  assert.ok(performance.now() - started >= 70);
  lock.release();
  assert.throws(() => lock.release(), /not locked/);
  {
    using _held = await lock.hold();
    assert.ok(lock.locked());
  }
  assert.ok(!lock.locked());
  await assert.rejects(
    lock.acquire({ timeout: -1 }).then(() => lock.acquire({ timeout: -1 })),
    RangeError,
  );
});

Deno.test("Lock held by a worker: waiters wait, time out, and get it when released", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const lock = new Lock();
  const held = new Event();
  const release = new Event();
  const task = pool.apply(ipc.holdLock, [lock, held, release]);
  assert.ok(await held.wait(10_000));
  assert.equal(await lock.acquire({ timeout: 50 }), false);
  const waiting = lock.acquire({ timeout: 10_000 });
  release.set();
  assert.equal(await waiting, true);
  lock.release();
  await task;
});

Deno.test("RLock is re-entrant for its owner and refuses others' release", async () => {
  const lock = new RLock();
  assert.ok(await lock.acquire());
  assert.ok(await lock.acquire({ block: false }));
  lock.release();
  lock.release();
  assert.throws(() => lock.release(), /does not hold it/);
  {
    using _a = await lock.hold();
    using _b = await lock.hold();
  }
  assert.ok(await lock.acquire({ block: false }));
  lock.release();
});

Deno.test("RLock owners are threads, not names: a worker named MainProcess is not the main thread", async () => {
  const lock = new RLock();
  const [held, release] = [new Event(), new Event()];
  const p = new Process({
    target: ipc.holdLock,
    args: [lock, held, release],
    name: "MainProcess",
    modules,
  });
  p.start();
  await held.wait();
  assert.equal(await lock.acquire({ block: false }), false);
  assert.throws(() => lock.release(), /does not hold it/);
  release.set();
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.ok(await lock.acquire({ block: false }));
  lock.release();
});

Deno.test("Semaphore counts; BoundedSemaphore refuses to go above its initial value", async () => {
  const s = new Semaphore(2);
  assert.ok(await s.acquire());
  assert.ok(await s.acquire());
  assert.equal(await s.acquire({ block: false }), false);
  assert.equal(s.get_value(), 0);
  s.release();
  s.release();
  s.release(); // a plain Semaphore may go above
  assert.equal(s.getValue(), 3);
  const b = new BoundedSemaphore(1);
  assert.throws(() => b.release(), /already at its initial value 1/);
  await b.acquire();
  b.release();
  assert.throws(() => new Semaphore(-1), RangeError);
});

Deno.test("Event wakes waiters in other threads; SharedArray writes are visible everywhere", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const { SharedArray } = await import("../mod.ts");
  const ready = new Event();
  const arr = new SharedArray("d", 3);
  const reader = pool.apply(ipc.waitThenRead, [ready, arr]);
  arr[0] = 1.5;
  arr[2] = -2;
  assert.ok(!ready.is_set());
  ready.set();
  assert.deepEqual(await reader, [1.5, 0, -2]);
  await pool.apply(ipc.writeArray, [arr, [7, 8, 9]]);
  assert.deepEqual(Array.from(arr), [7, 8, 9]);
  ready.clear();
  assert.equal(await ready.wait(30), false);
});

Deno.test("Seed 003: ten buyers, one lock, a db.json with one ticket: no ticket is sold twice", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/db.json`;
    await Deno.writeTextFile(path, JSON.stringify({ count: 1, buyers: [] }));
    const lock = new Lock();
    const buyers = Array.from(
      { length: 10 },
      (_, i) => new Process({ target: ipc.buyTicket, args: [path, lock, i], modules }),
    );
    for (const p of buyers) p.start();
    for (const p of buyers) await p.join();
    assert.ok(buyers.every((p) => p.exitcode === 0));
    const db = JSON.parse(await Deno.readTextFile(path));
    assert.equal(db.count, 0);
    assert.equal(db.buyers.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Condition: a worker waits for a predicate the main thread makes true", async () => {
  const { Condition, Value } = await import("../mod.ts");
  await using pool = new Pool({ processes: 1, modules });
  const cond = new Condition();
  const value = new Value("i", 0);
  const started = new Event();
  const waiter = pool.apply(ipc.waitForValue, [cond, value, 3, started]);
  assert.ok(await started.wait(10_000));
  for (let i = 0; i < 3; i++) {
    using _held = await cond.hold();
    value.value += 1;
    cond.notify_all();
  }
  assert.equal(await waiter, 3);
});

Deno.test("Condition: wait times out, notify(n) wakes n, and wait needs the lock", async () => {
  const { Condition } = await import("../mod.ts");
  // A plain Lock: these waiters are async tasks of one thread, which an RLock counts as one owner.
  const cond = new Condition(new Lock());
  await assert.rejects(cond.wait(10), /does not hold its lock/);
  {
    using _held = await cond.hold();
    const started = performance.now();
    assert.equal(await cond.wait(60), false);
    assert.ok(performance.now() - started >= 50);
  }
  const woken: number[] = [];
  let waiting = 0;
  const waiters = [0, 1, 2].map(async (i) => {
    using _held = await cond.hold();
    waiting++; // wait() counts itself and releases the lock before its first await
    if (await cond.wait(2_000)) woken.push(i);
  });
  while (waiting < 3) await new Promise((resolve) => setTimeout(resolve, 0));
  {
    using _held = await cond.hold();
    cond.notify(2);
  }
  await Promise.all(waiters);
  assert.equal(woken.length, 2);
});

Deno.test("RLock.locked() tells whether any thread holds it (Python 3.14's RLock.locked())", async () => {
  const lock = new RLock();
  assert.equal(lock.locked(), false);
  await lock.acquire();
  await lock.acquire();
  assert.equal(lock.locked(), true);
  lock.release();
  assert.equal(lock.locked(), true, "still held once");
  lock.release();
  assert.equal(lock.locked(), false);
  // Held by a worker, it is locked from here too.
  await using pool = new Pool({ processes: 1, modules });
  const held = new Event();
  const release = new Event();
  const holding = pool.apply(ipc.holdLock, [lock, held, release]);
  assert.ok(await held.wait(30_000));
  assert.equal(lock.locked(), true);
  assert.equal(await lock.acquire({ block: false }), false);
  release.set();
  await holding;
  assert.equal(lock.locked(), false);
});

Deno.test("Condition.notify() wakes a thread already waiting, not one that starts waiting after it", async () => {
  const cond = new Condition(new Lock());
  await cond.acquire();
  const first = cond.wait(); // releases the lock
  await cond.acquire();
  cond.notify(); // meant for `first`, the only waiter
  const late = cond.wait(50); // starts waiting after the notify: must not take it
  let timer: ReturnType<typeof setTimeout> | undefined;
  const firstWoke = await Promise.race([
    first,
    new Promise<string>((resolve) => timer = setTimeout(() => resolve("still asleep"), 10_000)),
  ]);
  clearTimeout(timer);
  assert.equal(firstWoke, true);
  cond.release(); // `first` took the lock back; now `late` can time out and take it
  assert.equal(await late, false);
  cond.release();
  assert.throws(() => cond.notify(), /does not hold its lock/);
});

Deno.test("Condition.notify() wakes the thread it was meant for even when that thread is busy", async () => {
  const tasks = new URL("./fixtures/condition_tasks.ts", import.meta.url).href;
  const { notifyTwice, waitLate } = await import(tasks);
  const cond = new Condition();
  const go = new Event();
  const firstDone = new Event();
  const bothWaiting = new Value("i", 0);
  const secondDone = new Value("i", 0);
  const results = new Queue<string>();
  const processes = [
    new Process({
      target: notifyTwice,
      args: [cond, go, firstDone, bothWaiting, secondDone],
      modules: [tasks],
    }),
    new Process({
      target: waitLate,
      args: ["B", cond, firstDone, bothWaiting, results],
      modules: [tasks],
    }),
    new Process({
      target: waitLate,
      args: ["C", cond, firstDone, bothWaiting, results],
      modules: [tasks],
    }),
  ];
  for (const p of processes) p.start();
  await cond.acquire();
  const first = cond.wait(); // the first notify is meant for this waiter, the only one then
  go.set();
  // Keep this thread busy (its waiter cannot run) until B and C have both finished waiting,
  // woken or timed out.
  const until = performance.now() + 20_000;
  while (results.qsize() < 2 && performance.now() < until) { /* busy */ }
  assert.equal(secondDone.value, 1, "the notifier did not finish");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const firstWoke = await Promise.race([
    first,
    new Promise<string>((resolve) => timer = setTimeout(() => resolve("still asleep"), 10_000)),
  ]);
  clearTimeout(timer);
  assert.equal(firstWoke, true, "a later waiter took the wake-up meant for the first");
  cond.release();
  for (const p of processes) await p.join();
  const got = [await results.get(), await results.get()].sort();
  // The second notify woke exactly one of the later waiters; the other timed out.
  assert.equal(got.filter((r) => r.endsWith("true")).length, 1, got.join(", "));
});

Deno.test("Lock.hold() that times out rejects with TimeoutError", async () => {
  const lock = new Lock();
  await lock.acquire();
  await assert.rejects(lock.hold(0), TimeoutError);
  lock.release();
});

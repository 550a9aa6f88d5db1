// Timeouts everywhere: milliseconds; undefined, null and Infinity wait
// forever; any finite value works, however large (setTimeout fires at once
// past 2^31 - 1 ms); negative or NaN is a RangeError naming the argument.
import assert from "node:assert/strict";
import {
  AsyncResult,
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Empty,
  Event,
  Full,
  JoinableQueue,
  Lock,
  Pipe,
  Queue,
  RLock,
  Semaphore,
  TimeoutError,
} from "../mod.ts";
import { after, MAX_DELAY, timeoutMs } from "../lib/_timeout.ts";

/** The long waits that must not end early: each would fire at once as a setTimeout delay. */
const FOREVER = [Infinity, null, 2 ** 31, 2 ** 53, Number.MAX_VALUE] as const;

/**
 * Whether `promise` is still pending after `ms` ms. The waits under test
 * would have ended within a millisecond or two; 50 ms is a wide margin.
 */
async function stillPending(promise: Promise<unknown>, ms = 50): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol("pending");
  const result = await Promise.race([
    promise.then(() => "settled", () => "settled"),
    new Promise((resolve) => timer = setTimeout(() => resolve(pending), ms)),
  ]);
  clearTimeout(timer);
  return result === pending;
}

/** Asserts the uniform RangeError (or TypeError for a non-number) of a bad timeout. */
async function rejectsBadTimeouts(
  call: (timeout: number) => Promise<unknown> | unknown,
  action: string,
  name = "timeout",
): Promise<void> {
  for (const bad of [-1, -Infinity, NaN]) {
    await assert.rejects(async () => await call(bad), {
      name: "RangeError",
      message:
        `Cannot ${action}: '${name}' must be a non-negative number of ms or Infinity, received ${bad}`,
    });
  }
  await assert.rejects(async () => await call("5" as never), {
    name: "TypeError",
    message: `Cannot ${action}: '${name}' must be a non-negative number of ms or Infinity, ` +
      `received "5"`,
  });
}

Deno.test("timeoutMs() reads undefined, null and Infinity as no limit and refuses bad values", () => {
  for (const forever of [undefined, null, Infinity]) {
    assert.equal(timeoutMs(forever, "x"), undefined);
  }
  for (const ms of [0, -0, 1.5, 2 ** 31, 2 ** 53]) assert.equal(timeoutMs(ms, "x"), ms);
  assert.throws(() => timeoutMs(-1, "get"), {
    name: "RangeError",
    message: "Cannot get: 'timeout' must be a non-negative number of ms or Infinity, received -1",
  });
  assert.throws(() => timeoutMs(NaN, "get"), RangeError);
  assert.throws(() => timeoutMs(1n, "get"), TypeError);
});

Deno.test("after() never hands setTimeout a delay past 2^31 - 1 ms, and cancels", async () => {
  const fired: number[] = [];
  const cancels = [after(2 ** 31, () => fired.push(1)), after(Infinity, () => fired.push(2))];
  const short = new Promise<void>((resolve) => after(5, resolve));
  await short;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(fired, []);
  for (const cancel of cancels) cancel();
  assert.equal(MAX_DELAY, 2 ** 31 - 1);
});

Deno.test("AsyncResult.get()/wait(): Infinity, null and huge timeouts wait; bad ones throw", async () => {
  let settle!: (ok: boolean, value: unknown) => void;
  const result = new AsyncResult<number>((s) => settle = s);
  await rejectsBadTimeouts((t) => result.get(t), "get the result");
  await rejectsBadTimeouts((t) => result.wait(t), "wait for the result");
  const gets = FOREVER.map((t) => result.get(t));
  const waits = FOREVER.map((t) => result.wait(t));
  assert.ok(await stillPending(Promise.race([...gets, ...waits])));
  settle(true, 42);
  assert.deepEqual(await Promise.all(gets), FOREVER.map(() => 42));
  await Promise.all(waits);
  // A finite timeout still times out, and 0 answers at once.
  const never = new AsyncResult<number>(() => {});
  await assert.rejects(never.get(0), TimeoutError);
  await assert.rejects(never.get(5), TimeoutError);
});

Deno.test("Queue get/put and JoinableQueue.join: Infinity, null and huge timeouts wait", async () => {
  const q = new Queue<number>(1);
  await rejectsBadTimeouts((t) => q.get({ timeout: t }), "get");
  await rejectsBadTimeouts((t) => q.put(1, { timeout: t }), "put");
  assert.equal(q.qsize(), 0, "a refused put puts nothing");
  for (const timeout of FOREVER) {
    const got = q.get({ timeout });
    assert.ok(await stillPending(got), `get({ timeout: ${timeout} })`);
    await q.put(timeout === null ? -1 : 1);
    assert.equal(await got, timeout === null ? -1 : 1);
  }
  await q.put(0);
  for (const timeout of FOREVER) {
    const put = q.put(2, { timeout });
    assert.ok(await stillPending(put), `put({ timeout: ${timeout} })`);
    assert.equal(await q.get(), timeout === FOREVER[0] ? 0 : 2);
    await put;
  }
  await assert.rejects(q.put(3, { timeout: 0 }), Full);
  assert.equal(await q.get({ timeout: 0 }), 2);
  await assert.rejects(q.get({ timeout: 5 }), Empty);

  const jq = new JoinableQueue<number>();
  await rejectsBadTimeouts((t) => jq.join(t), "join the queue");
  await jq.put(1);
  const joins = FOREVER.map((t) => jq.join(t));
  assert.ok(await stillPending(Promise.race(joins)));
  await jq.get();
  jq.taskDone();
  assert.deepEqual(await Promise.all(joins), FOREVER.map(() => true));
});

Deno.test("Connection.poll(): null and Infinity wait forever, 0 answers at once, bad ones throw", async () => {
  const [a, b] = Pipe();
  await rejectsBadTimeouts((t) => a.poll(t), "poll");
  assert.equal(await a.poll(), false);
  assert.equal(await a.poll(0), false);
  const polls = FOREVER.map((t) => a.poll(t));
  assert.ok(await stillPending(Promise.race(polls)));
  b.send("hi");
  assert.deepEqual(await Promise.all(polls), FOREVER.map(() => true));
  a.close();
  b.close();
});

Deno.test("Lock, RLock, Semaphore, BoundedSemaphore: acquire and hold take long timeouts", async () => {
  for (const make of [() => new Lock(), () => new RLock(), () => new Semaphore(1)]) {
    const lock = make();
    await rejectsBadTimeouts((t) => lock.acquire({ timeout: t }), "acquire");
    await rejectsBadTimeouts(
      (t) => lock.hold(t),
      `hold the ${lock instanceof Semaphore ? "semaphore" : "lock"}`,
    );
    // A bad timeout is refused even when the lock is free (and it is not taken).
    assert.equal(await lock.acquire({ block: false }), true);
    const name = lock.constructor.name;
    if (lock instanceof RLock) {
      // The owner thread re-enters at once; another owner is needed to wait: a worker is
      // out of scope here, so check only that a long timeout is accepted.
      assert.equal(await lock.acquire({ timeout: Infinity }), true);
      lock.release();
      lock.release();
      continue;
    }
    for (const timeout of FOREVER) {
      const waiting: Promise<boolean> = lock.acquire({ timeout });
      assert.ok(await stillPending(waiting), `${name}.acquire({ timeout: ${timeout} })`);
      lock.release();
      assert.equal(await waiting, true); // held again, by the waiter
    }
    lock.release();
    using _held = await lock.hold(Infinity);
  }
  const bounded = new BoundedSemaphore(1);
  await rejectsBadTimeouts((t) => bounded.acquire({ timeout: t }), "acquire");
  await bounded.acquire();
  const held = bounded.hold(null);
  assert.ok(await stillPending(held));
  bounded.release();
  (await held).release();
  await assert.rejects(new Lock().hold(-1), RangeError);
});

Deno.test("Event.wait(), Condition.wait()/waitFor(): long timeouts wait, bad ones throw", async () => {
  const event = new Event();
  await rejectsBadTimeouts((t) => event.wait(t), "wait for the event");
  const waits = FOREVER.map((t) => event.wait(t));
  assert.ok(await stillPending(Promise.race(waits)));
  event.set();
  assert.deepEqual(await Promise.all(waits), FOREVER.map(() => true));

  const cond = new Condition(new Lock());
  await cond.acquire();
  await rejectsBadTimeouts((t) => cond.wait(t), "wait on the condition");
  await rejectsBadTimeouts((t) => cond.waitFor(() => false, t), "wait on the condition");
  for (const timeout of FOREVER) {
    const waiting = cond.wait(timeout);
    assert.ok(await stillPending(waiting), `wait(${timeout})`);
    // The waiter released the lock: take it, notify, and hand it back.
    await cond.acquire();
    cond.notify();
    cond.release();
    assert.equal(await waiting, true);
  }
  let ready = false;
  const waitingFor = cond.waitFor(() => ready, Infinity);
  assert.ok(await stillPending(waitingFor));
  await cond.acquire();
  ready = true;
  cond.notifyAll();
  cond.release();
  assert.equal(await waitingFor, true);
  cond.release();
});

Deno.test("Barrier: constructor and wait() timeouts; null and undefined take the default", async () => {
  assert.throws(() => new Barrier(2, { timeout: -1 }), {
    name: "RangeError",
    message:
      "Cannot create barrier: 'timeout' must be a non-negative number of ms or Infinity, received -1",
  });
  assert.throws(() => new Barrier(2, { timeout: NaN }), RangeError);
  const barrier = new Barrier(2, { timeout: 2 ** 31 });
  await rejectsBadTimeouts((t) => barrier.wait(t), "wait at the barrier");
  assert.ok(!barrier.broken, "a refused wait does not break the barrier");
  for (const timeout of [undefined, null, Infinity, 2 ** 31]) {
    const first = barrier.wait(timeout);
    assert.ok(await stillPending(first), `wait(${timeout})`);
    const second = await barrier.wait();
    assert.deepEqual([await first, second].sort(), [0, 1]);
  }
  // null takes the barrier's own default, as Python's None does.
  const quick = new Barrier(2, { timeout: 5 });
  await assert.rejects(quick.wait(null), BrokenBarrierError);
});

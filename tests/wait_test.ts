// The sleeper bit of _wait.ts: a waker notifies once per round of sleeping,
// not once per signal, and never loses a wake-up.
import assert from "node:assert/strict";
import { signalWaiters, waitUntil } from "../lib/_wait.ts";

/** Yields to the event loop until `done()` holds (the waiter arms after its spin). */
async function until(done: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!done()) {
    assert.ok(performance.now() < deadline, "the waiter never went to sleep");
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("signalWaiters changes the word and notifies once per round of sleeping", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(4));
  let ready = false;
  const waiting = waitUntil(cells, 0, () => ready);
  await until(() => (Atomics.load(cells, 0) & 1) === 1); // asleep: the bit is set
  const armed = Atomics.load(cells, 0);
  ready = true;
  signalWaiters(cells, 0);
  assert.equal(Atomics.load(cells, 0), armed + 1, "the first signal clears the bit");
  for (let i = 0; i < 100; i++) signalWaiters(cells, 0);
  assert.equal(Atomics.load(cells, 0), armed + 1, "later signals find nobody asleep");
  assert.equal(await waiting, true);
});

Deno.test("signalWaiters with nobody asleep leaves the word alone", () => {
  const cells = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 10; i++) signalWaiters(cells, 0);
  assert.equal(Atomics.load(cells, 0), 0);
});

Deno.test("waitUntil sleeps again after a wake-up whose condition is gone", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(4));
  let ready = false;
  const waiting = waitUntil(cells, 0, () => ready);
  await until(() => (Atomics.load(cells, 0) & 1) === 1);
  signalWaiters(cells, 0); // woken, but the condition does not hold: it re-arms
  await until(() => (Atomics.load(cells, 0) & 1) === 1);
  ready = true;
  signalWaiters(cells, 0);
  assert.equal(await waiting, true);
});

Deno.test("waitUntil gives false after its timeout and leaves no timer", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(4));
  const started = performance.now();
  assert.equal(await waitUntil(cells, 0, () => false, 30), false);
  assert.ok(performance.now() - started >= 29);
});

Deno.test("the sequence word wraps past 2^31 without losing the sleeper bit", async () => {
  const cells = new Int32Array(new SharedArrayBuffer(4));
  cells[0] = 2 ** 31 - 2; // even: the next arming makes it 2^31 - 1, the wake-up -2^31
  let ready = false;
  const waiting = waitUntil(cells, 0, () => ready);
  await until(() => (Atomics.load(cells, 0) & 1) !== 0);
  assert.equal(Atomics.load(cells, 0), 2 ** 31 - 1);
  ready = true;
  signalWaiters(cells, 0);
  assert.equal(Atomics.load(cells, 0), -(2 ** 31));
  assert.equal(await waiting, true);
});

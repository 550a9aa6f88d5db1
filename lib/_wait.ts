// Waiting on shared memory without blocking the event loop: spin briefly
// (answers that come within microseconds need no wake-up), then
// Atomics.waitAsync on a sequence word.
//
// The sequence word's low bit says "a waiter sleeps here". A waiter sets it
// (even -> odd) before its last check and sleeps on the odd value; a waker
// that finds it set clears it (odd -> even, which also changes the value the
// sleepers wait on) and notifies. So a waker pays one load when nobody sleeps,
// and one notify (a ~7 µs syscall) per round of sleeping, not per signal:
// with a count of sleepers instead, a producer or a lock holder notified at
// every put or release until the woken thread got round to counting itself
// out, tens of thousands of syscalls in a run. A waiter that dies asleep
// leaves the bit set, which costs the next waker one useless notify, nothing
// more.

import { inWorker } from "./_context.ts";
import { MAX_DELAY } from "./_timeout.ts";

const SPIN_MS = 0.02;

/**
 * Resolves true once `cells[index]` differs from `seen`, or false after
 * `timeout` ms (undefined: never). Whoever changes the word notifies it.
 */
export async function waitForChange(
  cells: Int32Array,
  index: number,
  seen: number,
  timeout?: number,
): Promise<boolean> {
  const until = performance.now() + SPIN_MS;
  do {
    if (Atomics.load(cells, index) !== seen) return true;
  } while (performance.now() < until);
  return await sleepOn(cells, index, seen, timeout);
}

/**
 * Resolves true once `ready()` holds, or false after `timeout` ms. Wakers
 * make the condition true, then call {@linkcode signalWaiters} on the
 * sequence word `index`.
 *
 * No lost wake-up: the waiter sets the sleeper bit (a seq-cst
 * read-modify-write), then checks `ready()`, then sleeps on the odd value;
 * the waker makes the condition true, then reads the word. Either the waker
 * sees the bit (and changes the word and notifies), or the waiter's check
 * comes after the waker's change and sees the condition.
 */
export async function waitUntil(
  cells: Int32Array,
  index: number,
  ready: () => boolean,
  timeout?: number,
): Promise<boolean> {
  // Spin on the condition, reading the clock only every 64 checks (a clock
  // read is an op call, slower than a check).
  const until = performance.now() + SPIN_MS;
  for (let i = 1;; i++) {
    if (ready()) return true;
    if ((i & 63) === 0 && performance.now() >= until) break;
  }
  const deadline = timeout === undefined ? undefined : performance.now() + timeout;
  for (;;) {
    let seq = Atomics.load(cells, index);
    if ((seq & 1) === 0) {
      const armed = (seq + 1) | 0;
      // Changed meanwhile (a waker, or another waiter arming): look again.
      if (Atomics.compareExchange(cells, index, seq, armed) !== seq) continue;
      seq = armed;
    }
    if (ready()) return true;
    const left = remaining(deadline);
    if (left === 0 || !(await sleepOn(cells, index, seq, left))) return ready();
    if (ready()) return true;
  }
}

/** Waits for a change of `cells[index]` from `seen`; false on timeout. */
async function sleepOn(
  cells: Int32Array,
  index: number,
  seen: number,
  timeout: number | undefined,
): Promise<boolean> {
  const wait = Atomics.waitAsync(cells, index, seen);
  if (!wait.async) return true;
  if (timeout === undefined && inWorker()) {
    // A worker lives until it is closed or terminated, so an untimed wait
    // there needs no timer, and a thread's first timer is dear: Deno loads
    // its timers module then, 5-12 ms of a worker's time here.
    await wait.value;
    return true;
  }
  // On the main thread a pending waitAsync does not keep Deno's event loop
  // alive, and Deno does not run waitAsync's own timeout: a timer does both.
  // Without it, a wait woken from this very thread (or never, where Python
  // would block forever) could end the program. setTimeout takes at most
  // MAX_DELAY: a longer (or endless) wait re-arms it on the same waitAsync.
  for (let left = timeout ?? Infinity; left > 0;) {
    const step = Math.min(left, MAX_DELAY);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timed-out">((resolve) => {
      timer = setTimeout(() => resolve("timed-out"), step);
    });
    const result = await Promise.race([wait.value, timedOut]);
    clearTimeout(timer);
    if (result !== "timed-out") return true;
    left -= step;
  }
  // Release the abandoned waitAsync; other waiters wake, re-check and wait again.
  Atomics.notify(cells, index);
  return Atomics.load(cells, index) !== seen;
}

/**
 * Wakes the waiters of {@linkcode waitUntil} on sequence word `index` after
 * their condition may have become true; with nobody asleep it costs one load.
 */
export function signalWaiters(cells: Int32Array, index: number): void {
  const seq = Atomics.load(cells, index);
  // A failed exchange means another waker changed the word, and notifies.
  if ((seq & 1) !== 0 && Atomics.compareExchange(cells, index, seq, (seq + 1) | 0) === seq) {
    Atomics.notify(cells, index);
  }
}

/** Milliseconds left until `deadline` (performance.now() based), or undefined for none. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
}

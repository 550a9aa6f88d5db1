// Waiting on shared memory without blocking the event loop: spin briefly
// (answers that come within microseconds need no wake-up), then
// Atomics.waitAsync. A waiter counts itself in a `waiters` field first, so
// that wakers can skip Atomics.notify (a ~7 µs syscall), or even the whole
// signal, when nobody waits.

const SPIN_MS = 0.02;

/**
 * Resolves true once `cells[index]` differs from `seen`, or false after
 * `timeout` ms (undefined: never). `waiters` is the index of the waiter count.
 *
 * No lost wake-up: the waiter read the word, then counts itself, then waits on
 * the old value; the waker changes the word, then reads the count. Either the
 * waker sees the waiter (and notifies) or the wait sees the new value.
 */
export async function waitForChange(
  cells: Int32Array,
  index: number,
  seen: number,
  waiters: number,
  timeout?: number,
): Promise<boolean> {
  const until = performance.now() + SPIN_MS;
  do {
    if (Atomics.load(cells, index) !== seen) return true;
  } while (performance.now() < until);
  Atomics.add(cells, waiters, 1);
  try {
    return await sleepOn(cells, index, seen, timeout);
  } finally {
    Atomics.sub(cells, waiters, 1);
  }
}

/**
 * Resolves true once `ready()` holds, or false after `timeout` ms. Wakers
 * make the condition true, then call {@linkcode signalWaiters} on `index`.
 *
 * No lost wake-up: the waiter counts itself, then reads `index`, then checks
 * `ready()`, then waits on the value it read, staying counted throughout; the
 * waker makes the condition true, then reads the count. Either the waker sees
 * the waiter (and changes `index` and notifies), or the waiter's check sees
 * the condition.
 */
export async function waitUntil(
  cells: Int32Array,
  index: number,
  waiters: number,
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
    Atomics.add(cells, waiters, 1);
    try {
      const seen = Atomics.load(cells, index);
      if (ready()) return true;
      const left = remaining(deadline);
      if (left === 0 || !(await sleepOn(cells, index, seen, left))) return ready();
    } finally {
      Atomics.sub(cells, waiters, 1);
    }
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
  // A pending waitAsync does not keep Deno's event loop alive, and Deno does
  // not run waitAsync's own timeout: a timer does both. Without it, a wait
  // woken from this very thread (or never, where Python would block forever)
  // could end the program.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timed-out">((resolve) => {
    timer = setTimeout(() => resolve("timed-out"), timeout ?? 2 ** 31 - 1);
  });
  const result = await Promise.race([wait.value, timedOut]);
  clearTimeout(timer);
  if (result !== "timed-out") return true;
  // Release the abandoned waitAsync; other waiters wake, re-check and wait again.
  Atomics.notify(cells, index);
  return Atomics.load(cells, index) !== seen;
}

/** Changes `cells[index]` (by adding 1) and wakes its waiters, if any. */
export function signal(cells: Int32Array, index: number, waiters: number): void {
  Atomics.add(cells, index, 1);
  if (Atomics.load(cells, waiters) > 0) Atomics.notify(cells, index);
}

/**
 * Wakes the waiters of {@linkcode waitUntil} after their condition may have
 * become true; with nobody waiting it costs one load.
 */
export function signalWaiters(cells: Int32Array, index: number, waiters: number): void {
  if (Atomics.load(cells, waiters) > 0) {
    Atomics.add(cells, index, 1);
    Atomics.notify(cells, index);
  }
}

/** Milliseconds left until `deadline` (performance.now() based), or undefined for none. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
}

// Waiting on a shared-memory word without blocking the event loop: spin
// briefly (answers that come within microseconds need no wake-up), then
// Atomics.waitAsync. A waiter counts itself in `waiters` first, so that
// notifiers can skip the Atomics.notify syscall (~7 µs) when nobody waits.
//
// Why no lost wake-up: the waiter reads the word, then increments `waiters`,
// then waits on the word's old value; the notifier changes the word, then
// reads `waiters`. With sequentially consistent atomics, either the notifier
// sees the waiter counted (and notifies), or the waiter's wait sees the new
// value (and returns at once).

const SPIN_MS = 0.02;

/**
 * Resolves true once `cells[index]` differs from `seen`, or false after
 * `timeout` ms (undefined: never). `waiters` is the index of the waiter count.
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
    const wait = Atomics.waitAsync(cells, index, seen);
    if (!wait.async) return true;
    if (timeout === undefined) {
      // A pending waitAsync does not keep Deno's event loop alive: without a
      // timer, a wait whose wake-up comes from this very thread (or from
      // nothing, where Python would block forever) could end the program.
      const keepAlive = setTimeout(() => {}, 2 ** 31 - 1);
      try {
        return (await wait.value) !== "timed-out";
      } finally {
        clearTimeout(keepAlive);
      }
    }
    // Deno does not run waitAsync's own timeout (nor does a pending waitAsync
    // keep the event loop alive), so a timer enforces it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timed-out">((resolve) => {
      timer = setTimeout(() => resolve("timed-out"), timeout);
    });
    const result = await Promise.race([wait.value, timedOut]);
    clearTimeout(timer);
    if (result === "timed-out") {
      // Release the abandoned waitAsync; other waiters wake, re-check and wait again.
      Atomics.notify(cells, index);
      return Atomics.load(cells, index) !== seen;
    }
    return true;
  } finally {
    Atomics.sub(cells, waiters, 1);
  }
}

/** Changes `cells[index]` (by adding 1) and wakes its waiters, if any. */
export function signal(cells: Int32Array, index: number, waiters: number): void {
  Atomics.add(cells, index, 1);
  if (Atomics.load(cells, waiters) > 0) Atomics.notify(cells, index);
}

/** Milliseconds left until `deadline` (performance.now() based), or undefined for none. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
}

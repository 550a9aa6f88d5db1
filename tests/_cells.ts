// Synchronisation between a test and the tasks of tests/fixtures/control_tasks.ts
// through cells of a SharedArrayBuffer: the tasks count what they do in cells
// and wait on CELL.RELEASE, so the tests wait for events, not for time.
import assert from "node:assert/strict";
import { CELL } from "./fixtures/control_tasks.ts";

/** Four cells, and the buffer to pass to the tasks. */
export function newCells(): { cells: Int32Array; flag: SharedArrayBuffer } {
  const flag = new SharedArrayBuffer(16);
  return { cells: new Int32Array(flag), flag };
}

/** Resolves once cell `index` reaches at least `count` (30 s at most). */
export async function cellReaches(cells: Int32Array, index: number, count: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (let v = Atomics.load(cells, index); v < count; v = Atomics.load(cells, index)) {
    assert.ok(performance.now() < deadline, `cell ${index} stayed at ${v}, expected ${count}`);
    const wait = Atomics.waitAsync(cells, index, v, 1000);
    if (wait.async) await wait.value;
  }
}

/** Lets every task waiting on CELL.RELEASE go on. */
export function release(cells: Int32Array): void {
  Atomics.store(cells, CELL.RELEASE, 1);
  Atomics.notify(cells, CELL.RELEASE);
}

/** Whether `promise` is still pending once the timers due now have run. */
export async function pending(promise: PromiseLike<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const first = await Promise.race([
    Promise.resolve(promise).then(() => "settled", () => "settled"),
    new Promise((resolve) => setTimeout(resolve, 0, marker)),
  ]);
  return first === marker;
}

// Helpers shared by the CPython ports: CPython's TimingWrapper, its
// assertReachesEventually / sleeping_retry, join_process, and `latin()`.
import assert from "node:assert/strict";
import type { Process } from "../../mod.ts";

/** The fixture module workers import for the targets. */
export const modules = [new URL("./_tasks.ts", import.meta.url)];

/** CPython's TIMEOUT1/2/3 (0.1 s each when CHECK_TIMINGS is off), in ms. */
export const TIMEOUT1 = 100;
export const TIMEOUT2 = 100;
export const TIMEOUT3 = 100;

/** support.SHORT_TIMEOUT and LONG_TIMEOUT, in ms. */
export const SHORT_TIMEOUT = 30_000;
export const LONG_TIMEOUT = 300_000;

/**
 * `TimingWrapper(func)`: `await timed(() => ...)` runs it and returns what it
 * returned; `elapsed` (ms) tells how long it took, thrown or not.
 */
export class Timing {
  elapsed = NaN;

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.elapsed = performance.now() - started;
    }
  }
}

/**
 * `assertTimingAlmostEqual(elapsed, expected)`. CPython checks nothing unless
 * CHECK_TIMINGS is set; here a wait must last at least `expected` (less 10 ms
 * of clock slack) and, on a loaded machine, not more than `expected` + 5 s.
 */
export function assertTiming(elapsed: number, expected: number): void {
  assert.ok(
    elapsed >= expected - 10 && elapsed < expected + 5_000,
    `took ${elapsed.toFixed(1)} ms, expected about ${expected} ms`,
  );
}

/** `assertReachesEventually(func, value)`: polls `func` until it gives `value` (30 s at most). */
export async function assertReachesEventually(
  func: () => unknown,
  value: unknown,
): Promise<void> {
  const deadline = performance.now() + SHORT_TIMEOUT;
  while (func() !== value && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(func(), value);
}

/**
 * `join_process(p)` (threading_helper.join_thread): joins with SHORT_TIMEOUT and fails, rather
 * than hangs, when the process is still alive then.
 */
export async function joinProcess(p: Process): Promise<void> {
  await p.join(SHORT_TIMEOUT);
  assert.ok(!p.isAlive(), `failed to join ${p.name} in ${SHORT_TIMEOUT} ms`);
}

/** `latin(s)`: the bytes of a latin-1 string. */
export function latin(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * Which thread am I, and how many cores are there: Python's
 * `multiprocessing.current_process()` and `cpu_count()`.
 *
 * @module
 */
import { threadContext } from "./_context.ts";

/**
 * The identity of the running thread, as `currentProcess()` reports it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentProcess, type ProcessInfo } from "./process_info.ts";
 * const me: ProcessInfo = currentProcess();
 * assert.deepEqual(me, { name: "MainProcess", pid: Deno.pid });
 * ```
 */
export interface ProcessInfo {
  /** `"MainProcess"` on the main thread, `"PoolWorker-N"` in a pool worker. */
  readonly name: string;
  /** The OS pid on the main thread; in a worker a number unique per worker ever started. */
  readonly pid: number;
}

/**
 * Returns the name and pid of the thread that calls it (Python's
 * `multiprocessing.current_process()`).
 *
 * @returns The caller's identity.
 *
 * @example On the main thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentProcess } from "./process_info.ts";
 * assert.ok(currentProcess().name === "MainProcess");
 * ```
 */
export function currentProcess(): ProcessInfo {
  const { name, pid } = threadContext();
  return { name, pid };
}

/**
 * The number of logical CPUs, the default size of a `Pool` (Python's
 * `os.cpu_count()`).
 *
 * @returns At least 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuCount } from "./process_info.ts";
 * assert.ok(cpuCount() >= 1);
 * ```
 */
export function cpuCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * Returns the name and pid of the thread that started the caller, or `null`
 * on the main thread (Python's `multiprocessing.parent_process()`; the
 * `os.getppid()` of a worker).
 *
 * @returns The parent's identity, or `null` on the main thread.
 *
 * @example On the main thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { parentProcess } from "./process_info.ts";
 * assert.ok(parentProcess() === null);
 * ```
 */
export function parentProcess(): ProcessInfo | null {
  const { parent } = threadContext();
  return parent ? { name: parent.name, pid: parent.pid } : null;
}

/**
 * Python spelling of {@linkcode currentProcess}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { current_process } from "./process_info.ts";
 * assert.equal(current_process().name, "MainProcess");
 * ```
 */
export const current_process: typeof currentProcess = currentProcess;
/**
 * Python spelling of {@linkcode parentProcess}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parent_process } from "./process_info.ts";
 * assert.equal(parent_process(), null); // the main thread has no parent
 * ```
 */
export const parent_process: typeof parentProcess = parentProcess;
/**
 * Python spelling of {@linkcode cpuCount}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpu_count } from "./process_info.ts";
 * assert.equal(cpu_count(), navigator.hardwareConcurrency);
 * ```
 */
export const cpu_count: typeof cpuCount = cpuCount;

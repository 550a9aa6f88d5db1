/**
 * `taskSignal()`: inside a Pool task, the `AbortSignal` that tells the task
 * its caller gave up (the `signal` given at submit aborted, or its `timeout`
 * passed).
 *
 * @module
 */
import { taskContext } from "./_task_context.ts";
import { inWorker } from "./_context.ts";

/**
 * The running task's `AbortSignal`: it aborts when the caller's `signal`
 * aborts or the task's `timeout` passes, with the caller's reason (a
 * `TimeoutError` for a timeout). A cooperative task passes it on (to `fetch`,
 * say) or checks `signal.aborted` between steps. A task given neither gets a
 * signal that never aborts.
 *
 * It is right across `await`s: with `concurrency` above 1, each of the tasks
 * a worker runs at once gets its own (the worker then tracks tasks with
 * `AsyncLocalStorage`).
 *
 * @returns The signal of the task that calls it.
 * @throws {Error} Outside a task: on the main thread, or in a worker after its
 *   task settled (a timer the task left behind, say).
 *
 * @example A task that stops when its caller gives up
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./pool.ts";
 * const lib = JSON.stringify(import.meta.resolve("./task_signal.ts"));
 * const tasks = "data:text/javascript," + encodeURIComponent(
 *   `import { taskSignal } from ${lib};
 *    export function waitForAbort() {
 *      const signal = taskSignal();
 *      return new Promise((resolve) => signal.onabort = () => resolve(signal.reason.name));
 *    }`,
 * );
 * const { waitForAbort } = await import(tasks);
 * await using pool = new Pool({ processes: 1, modules: [tasks] });
 * // The caller gives up after 50 ms: its promise rejects, and the task's signal aborts.
 * await assert.rejects(pool.apply(waitForAbort, [], { timeout: 50 }), { name: "TimeoutError" });
 * ```
 *
 * @example Outside a task it throws
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskSignal } from "./task_signal.ts";
 * assert.throws(() => taskSignal(), /must be called inside a Pool task/);
 * ```
 */
export function taskSignal(): AbortSignal {
  const signal = taskContext()?.signal();
  if (signal) return signal;
  throw new Error(
    "Cannot get the task's signal: taskSignal() must be called inside a Pool task, while it " +
      (inWorker()
        ? "runs (this call came after its task settled, or from code outside any task)"
        : "runs in a worker (this call came from the main thread)"),
  );
}

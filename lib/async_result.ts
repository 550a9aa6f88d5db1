/**
 * The handle returned by `Pool.applyAsync` and `Pool.mapAsync`: Python's
 * `multiprocessing.pool.AsyncResult`, and a `PromiseLike` so it can be awaited.
 *
 * @module
 */
import { TimeoutError } from "./errors.ts";
import { after, timeoutMs } from "./_timeout.ts";

/**
 * Settles an {@linkcode AsyncResult}: `ok` true with the value, or false with the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsyncResult, type Settle } from "./async_result.ts";
 * const result = new AsyncResult<string>((settle: Settle) => {
 *   settle(false, new Error("no"));
 *   settle(true, "ignored"); // only the first call counts
 * });
 * await assert.rejects(result.get(), /no/);
 * ```
 */
export type Settle = (ok: boolean, value: unknown) => void;

/**
 * The eventual outcome of a task submitted with `applyAsync` or `mapAsync`.
 *
 * A failed task that nobody asks about is not an unhandled rejection: the
 * error is kept until `get()` or `await` asks for it.
 *
 * @typeParam T The task's result type.
 *
 * @example Awaiting, or asking with a timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsyncResult } from "./async_result.ts";
 * const result = new AsyncResult<number>((settle) => setTimeout(() => settle(true, 42), 10));
 * assert.ok(!result.ready());
 * assert.ok((await result.get(5_000)) === 42);
 * assert.ok(result.successful() && (await result) === 42);
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  #state: "pending" | "fulfilled" | "rejected" = "pending";
  #value: unknown;
  // Made only when someone asks (then/get/wait), who then handles it: a pool
  // can hand out 100k results read through callbacks only, and an error
  // nobody asked for must not become an unhandled rejection.
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  /**
   * Creates a pending result.
   *
   * @param executor Receives the function that settles this result, as a
   * Promise executor does. Only the first call counts.
   */
  constructor(executor: (settle: Settle) => void) {
    executor((ok, value) => {
      if (this.#state !== "pending") return;
      this.#state = ok ? "fulfilled" : "rejected";
      this.#value = value;
      if (ok) this.#resolve?.(value as T);
      else this.#reject?.(value);
    });
  }

  #settled(): Promise<T> {
    if (this.#promise) return this.#promise;
    if (this.#state === "fulfilled") return this.#promise = Promise.resolve(this.#value as T);
    if (this.#state === "rejected") {
      return this.#promise = Promise.reject(this.#value);
    }
    return this.#promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Waits for the outcome and returns the value, or throws the task's error.
   *
   * @param timeout Milliseconds to wait; `undefined`, `null` (Python's None)
   *   and `Infinity` wait forever; any finite value >= 0 works, however large.
   * @returns The task's result.
   * @throws {TimeoutError} When `timeout` passes first; the task keeps running.
   * @throws {RangeError} When `timeout` is negative or NaN (the returned Promise rejects).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AsyncResult } from "./async_result.ts";
   * import { TimeoutError } from "./errors.ts";
import { after, timeoutMs } from "./_timeout.ts";
   * const never = new AsyncResult<number>(() => {});
   * await assert.rejects(never.get(10), TimeoutError);
   * await assert.rejects(never.get(-1), RangeError);
   * const soon = new AsyncResult<number>((settle) => setTimeout(() => settle(true, 7), 10));
   * assert.equal(await soon.get(Infinity), 7); // as long as it takes
   * ```
   */
  get(timeout?: number | null): Promise<T> {
    let ms: number | undefined;
    try {
      ms = timeoutMs(timeout, "get the result");
    } catch (error) {
      return Promise.reject(error);
    }
    if (ms === undefined || this.#state !== "pending") return this.#settled();
    return new Promise<T>((resolve, reject) => {
      const cancel = after(ms, () => {
        reject(
          new TimeoutError(
            `Timed out after ${ms} ms waiting for the result; the task keeps running`,
          ),
        );
      });
      this.#settled().then(resolve, reject).finally(cancel);
    });
  }

  /**
   * Waits until the outcome is known or `timeout` passes; never throws the task's error.
   *
   * @param timeout Milliseconds to wait; `undefined`, `null` and `Infinity` wait forever.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async wait(timeout?: number | null): Promise<void> {
    const ms = timeoutMs(timeout, "wait for the result");
    try {
      await this.get(ms);
    } catch {
      // wait() reports readiness only, as in Python.
    }
  }

  /** Whether the task has finished (successfully or not). */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the task finished without an error.
   *
   * @throws {Error} When the task has not finished yet (Python raises ValueError).
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new Error(
        "Cannot tell whether the task succeeded: it has not finished; await wait() first",
      );
    }
    return this.#state === "fulfilled";
  }

  /** Promise interop: `await asyncResult` gives the value or throws the error. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#settled().then(onfulfilled, onrejected);
  }
}

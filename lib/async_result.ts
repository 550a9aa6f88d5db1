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

/**
 * Yields each result as it settles, whichever settles first (Python's
 * `concurrent.futures.as_completed`), failed ones included: read each with
 * `await result` (the value, or its error thrown) or `result.get()`. A result
 * given twice is yielded once.
 *
 * The iterator hands out the `AsyncResult`s themselves (`.ready()`,
 * `.successful()` work on them). TypeScript types a `for await` variable as
 * the awaited value, since `for await` unwraps thenables in its type model:
 * read it with `await result`, which is right for both.
 *
 * @typeParam R The results' type: `AsyncResult`s (or any `PromiseLike`s).
 * @param results The results to watch.
 * @param timeout Milliseconds from this call; when they pass before every result is
 *   yielded, the iterator throws a `TimeoutError` (the tasks keep running). `undefined`,
 *   `null` and `Infinity` wait for ever.
 * @returns The results, in the order they settle.
 * @throws {RangeError} When `timeout` is negative or NaN (at once, as it is read at the call).
 * @throws {TypeError} When `results` is not iterable or holds something that is not awaitable.
 *
 * @example Results in the order they finish, failures included
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsyncResult, asCompleted } from "./async_result.ts";
 * const after = (ms: number, ok: boolean, value: string) =>
 *   new AsyncResult<string>((settle) => setTimeout(() => settle(ok, value), ms));
 * const order: string[] = [];
 * const results = [after(60, true, "slow"), after(1, true, "fast"), after(30, false, "bad")];
 * for await (const result of asCompleted(results)) {
 *   order.push(await Promise.resolve(result).catch((error) => `failed: ${error}`));
 * }
 * assert.deepEqual(order, ["fast", "failed: bad", "slow"]);
 * ```
 *
 * @example A timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsyncResult, asCompleted } from "./async_result.ts";
 * import { TimeoutError } from "./errors.ts";
 * const never = new AsyncResult<number>(() => {});
 * await assert.rejects(async () => {
 *   for await (const result of asCompleted([never], 10)) await result;
 * }, TimeoutError);
 * ```
 */
export function asCompleted<R extends PromiseLike<unknown>>(
  results: Iterable<R>,
  timeout?: number | null,
): AsyncIterableIterator<R> {
  const ms = timeoutMs(timeout, "call asCompleted()");
  if (results == null || typeof (results as Iterable<R>)[Symbol.iterator] !== "function") {
    throw new TypeError("Cannot call asCompleted(): 'results' must be iterable");
  }
  const pending = [...new Set(results)];
  pending.forEach((result, i) => {
    if (typeof (result as PromiseLike<unknown> | null)?.then !== "function") {
      throw new TypeError(
        `Cannot call asCompleted(): 'results' item ${i} must be an AsyncResult (or awaitable)`,
      );
    }
  });
  return new Completions(pending, ms);
}

/**
 * The iterator of asCompleted(). Not an async generator: `yield` in one awaits
 * a thenable, so it would hand out values (and throw at the first failure)
 * instead of the results.
 */
class Completions<R extends PromiseLike<unknown>> implements AsyncIterableIterator<R> {
  #settled: R[] = [];
  #left: number;
  #total: number;
  #ms: number | undefined;
  #wake: (() => void) | undefined;
  #cancelTimer: (() => void) | undefined;
  #timedOut = false;
  #finished = false;

  constructor(pending: R[], ms: number | undefined) {
    this.#left = this.#total = pending.length;
    this.#ms = ms;
    for (const result of pending) {
      const done = () => {
        this.#settled.push(result);
        this.#wake?.();
      };
      // Both paths handled: a failed result is yielded, not an unhandled rejection.
      result.then(done, done);
    }
    if (ms !== undefined && pending.length > 0) {
      this.#cancelTimer = after(ms, () => {
        this.#timedOut = true;
        this.#wake?.();
      });
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<R> {
    return this;
  }

  async next(): Promise<IteratorResult<R, undefined>> {
    for (;;) {
      if (this.#finished || this.#left === 0) return this.#end();
      if (this.#settled.length > 0) {
        this.#left--;
        if (this.#left === 0) this.#stop();
        return { done: false, value: this.#settled.shift()! };
      }
      if (this.#timedOut) {
        const left = this.#left;
        this.#finished = true;
        throw new TimeoutError(
          `Timed out after ${this.#ms} ms in asCompleted(): ${left} of ${this.#total} results ` +
            `had not settled; their tasks keep running`,
        );
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  /** `break` out of a `for await`: stop watching (the timer goes). */
  return(): Promise<IteratorResult<R, undefined>> {
    return Promise.resolve(this.#end());
  }

  #end(): IteratorResult<R, undefined> {
    this.#finished = true;
    this.#stop();
    return { done: true, value: undefined };
  }

  #stop(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }
}

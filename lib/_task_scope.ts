// One call's cancellation: the `signal` and `timeout` options of apply,
// applyAsync, the maps and the imaps. A call with neither has no scope (the
// hot path allocates nothing). A scope watches the signal and the timer, and
// when either fires it calls `onAbort` once with the reason; the engine then
// cancels every task of the call that has not settled. The call disposes the
// scope when it settles, so no listener or timer outlives it.
//
// One signal often covers many calls (a batch of applyAsync under one
// AbortController): a signal gets one "abort" listener for all its scopes,
// kept in a Set, because removing one of 100k listeners from an EventTarget
// is a linear search (100k tasks sharing a signal took quadratic time).

import { TimeoutError } from "./errors.ts";
import { describeValue, timeoutMs } from "./_timeout.ts";
import { deadline } from "./_deadlines.ts";
import type { PendingTask } from "./_worker_handle.ts";

/** The per-task options: `{ signal, timeout }`. */
export interface CancelOptions {
  signal?: AbortSignal;
  timeout?: number | null;
}

/** A call's signal and deadline, and the tasks they cancel. */
export class TaskScope {
  /** True once the signal aborted or the timeout passed. */
  aborted = false;
  /** Why (the signal's reason, or a TimeoutError). */
  reason: unknown;
  /**
   * The call's tasks not settled yet (a map's chunks): the engine adds each
   * as it creates it and deletes it when it settles, so a long imap holds only
   * the chunks in flight.
   */
  readonly tasks: Set<PendingTask> = new Set();
  #signal: AbortSignal | undefined;
  #cancelTimer: (() => void) | undefined;
  #onAbort: ((reason: unknown) => void) | undefined;

  constructor(signal: AbortSignal | undefined, timeout: number | undefined, what: string) {
    if (signal?.aborted) {
      this.aborted = true;
      this.reason = signal.reason;
      return;
    }
    if (signal) {
      this.#signal = signal;
      watch(signal, this);
    }
    if (timeout !== undefined) {
      this.#cancelTimer = deadline(timeout, () => {
        this.#cancelTimer = undefined;
        this.abort(
          new TimeoutError(`${what} timed out after ${timeout} ms (its 'timeout' option)`),
        );
      });
    }
  }

  /** Runs `onAbort` when the signal aborts or the timeout passes (once). */
  watch(onAbort: (reason: unknown) => void): void {
    this.#onAbort = onAbort;
  }

  /** The signal aborted or the timer fired (called once per scope). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.dispose();
    this.#onAbort?.(reason);
  }

  /** Stops watching: the call settled. Idempotent. */
  dispose(): void {
    if (this.#signal) unwatch(this.#signal, this);
    this.#signal = undefined;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }
}

/** Each watched signal's scopes, and its one listener. */
const watched = new WeakMap<AbortSignal, { scopes: Set<TaskScope>; listener: () => void }>();

function watch(signal: AbortSignal, scope: TaskScope): void {
  let entry = watched.get(signal);
  if (!entry) {
    const scopes = new Set<TaskScope>();
    const listener = () => {
      watched.delete(signal);
      for (const each of scopes) each.abort(signal.reason);
    };
    entry = { scopes, listener };
    watched.set(signal, entry);
    signal.addEventListener("abort", listener, { once: true });
  }
  entry.scopes.add(scope);
}

function unwatch(signal: AbortSignal, scope: TaskScope): void {
  const entry = watched.get(signal);
  if (!entry) return;
  entry.scopes.delete(scope);
  if (entry.scopes.size > 0) return;
  watched.delete(signal);
  signal.removeEventListener("abort", entry.listener);
}

/**
 * The scope of a call's options, or undefined when they give neither
 * `signal` nor `timeout`.
 *
 * @param action What was attempted, for errors: "Cannot <action>: ...".
 * @param what The call, for the timeout's message ("Task 'f'", "map 'f'").
 * @throws {TypeError} When `signal` is not an AbortSignal, or `timeout` not a number.
 * @throws {RangeError} When `timeout` is negative or NaN.
 */
export function taskScope(
  options: CancelOptions,
  action: string,
  what: string,
): TaskScope | undefined {
  const { signal, timeout } = options;
  if (signal === undefined && (timeout === undefined || timeout === null)) return undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${action}: 'signal' must be an AbortSignal, received ${describeValue(signal)}`,
    );
  }
  return new TaskScope(signal, timeoutMs(timeout, action), what);
}

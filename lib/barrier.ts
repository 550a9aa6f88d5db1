/**
 * `Barrier`: Python's `multiprocessing.Barrier`, a meeting point for a fixed
 * number of threads (the main thread, Pool workers, Processes).
 *
 * @module
 */
import {
  enterCritical,
  leaveCritical,
  stopError,
  stopRequested,
  threadContext,
} from "./_context.ts";
import { functionRef } from "./_function_ref.ts";
import {
  adoptHandle,
  newSharedId,
  registerShareable,
  SHARE,
  type SharedReduction,
} from "./_shared_registry.ts";
import { signalWaiters, waitUntil } from "./_wait.ts";
import { checkOptions } from "./_options.ts";
import { timeoutMs } from "./_timeout.ts";
import { BrokenBarrierError } from "./errors.ts";

/**
 * Options of {@linkcode Barrier}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Barrier, type BarrierOptions } from "./barrier.ts";
 * import { BrokenBarrierError } from "./errors.ts";
 * const options: BarrierOptions = { timeout: 20 };
 * const barrier = new Barrier(2, options);
 * await assert.rejects(barrier.wait(), BrokenBarrierError); // the other party never came
 * assert.ok(barrier.broken);
 * ```
 */
export interface BarrierOptions {
  /**
   * Run by the last thread to arrive, before any is released. An exported
   * function (by reference, like a task): a worker finds it among its modules.
   */
  action?: () => unknown;
  /**
   * Default timeout (ms) of `wait()`; `undefined`, `null` and `Infinity` wait forever.
   * Negative or NaN is a RangeError.
   */
  timeout?: number | null;
}

const B = {
  LOCK: 0,
  /** Threads arrived in this generation. */
  COUNT: 1,
  /** Bumped each time the barrier releases its threads. */
  GENERATION: 2,
  /** Bumped by abort(), a timeout, a failed action, and reset(). */
  BREAKS: 3,
  /** 1 while broken (until reset()). */
  BROKEN: 4,
  PARTIES: 5,
  /** The sequence word waiters sleep on (see _wait.ts). */
  SEQ: 6,
  WORDS: 7,
} as const;

interface State {
  cells: SharedArrayBuffer;
  action: [name: string, src: string] | null;
  timeout: number | null;
}

let reviving: { state: State; id: number } | undefined;

/**
 * A barrier for `parties` threads: each `wait()` returns once all have
 * arrived, with an index unique among them (0 to parties - 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Barrier } from "./barrier.ts";
 * const barrier = new Barrier(2);
 * const indices = await Promise.all([barrier.wait(), barrier.wait()]);
 * assert.ok(indices.sort().join() === "0,1");
 * ```
 */
export class Barrier {
  #cells: Int32Array;
  #id: number;
  #action: (() => unknown) | undefined;
  #actionRef: [string, string] | null;
  #timeout: number | undefined;

  /**
   * Creates a barrier.
   *
   * @param parties How many threads meet at it.
   * @param options `action` and `timeout`.
   * @throws {RangeError} When `parties` is not a positive integer.
   * @throws {TypeError} When the action cannot travel by reference.
   */
  constructor(parties: number, options: BarrierOptions = {}) {
    if (reviving) {
      const { state, id } = reviving;
      this.#cells = new Int32Array(state.cells);
      this.#id = id;
      this.#actionRef = state.action;
      this.#timeout = state.timeout ?? undefined;
      return;
    }
    if (!Number.isInteger(parties) || parties < 1) {
      throw new RangeError(
        `Cannot create barrier: 'parties' must be a positive integer, received ${parties}`,
      );
    }
    checkOptions(options, ["action", "timeout"], "create barrier");
    const timeout = timeoutMs(options.timeout, "create barrier");
    this.#cells = new Int32Array(new SharedArrayBuffer(B.WORDS * 4));
    this.#cells[B.PARTIES] = parties;
    this.#action = options.action;
    const ref = options.action && functionRef(options.action, "the barrier action");
    this.#actionRef = ref ? [ref.name, ref.src] : null;
    this.#timeout = timeout;
    this.#id = newSharedId();
    adoptHandle(this, this.#id);
  }

  /** How many threads must arrive. */
  get parties(): number {
    return this.#cells[B.PARTIES];
  }

  /** Threads waiting now. */
  get nWaiting(): number {
    return Atomics.load(this.#cells, B.COUNT);
  }

  /** Python spelling of {@linkcode Barrier.nWaiting}. */
  get n_waiting(): number {
    return this.nWaiting;
  }

  /** Whether it is broken (until `reset()`). */
  get broken(): boolean {
    return Atomics.load(this.#cells, B.BROKEN) === 1;
  }

  /**
   * Waits until all parties have arrived.
   *
   * @param timeout Milliseconds; `undefined` and `null` (Python's None) take the barrier's
   *   default, `Infinity` waits forever. On timeout the barrier breaks.
   * @returns This thread's arrival index, 0 to parties - 1.
   * @throws {BrokenBarrierError} When the barrier is or becomes broken.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async wait(timeout?: number | null): Promise<number> {
    const ms = timeout == null ? this.#timeout : timeoutMs(timeout, "wait at the barrier");
    const cells = this.#cells;
    if (this.broken) throw new BrokenBarrierError("Cannot wait: the barrier is broken");
    let arrival = this.#arrive();
    while (arrival.index >= this.parties) {
      // The barrier is releasing a full set of parties: this thread belongs to the next one.
      const draining = arrival.generation;
      await waitUntil(
        cells,
        B.SEQ,
        () => Atomics.load(cells, B.GENERATION) !== draining || this.broken,
      );
      arrival = this.#arrive();
    }
    const { index, generation, breaks } = arrival;
    if (index === this.parties - 1) {
      try {
        await this.#runAction();
      } catch (error) {
        this.#break();
        throw error;
      }
      this.#locked(() => {
        cells[B.COUNT] = 0;
        Atomics.add(cells, B.GENERATION, 1);
      });
      signalWaiters(cells, B.SEQ);
      return index;
    }
    const released = () =>
      Atomics.load(cells, B.GENERATION) !== generation || Atomics.load(cells, B.BREAKS) !== breaks;
    const done = await waitUntil(cells, B.SEQ, released, ms);
    if (Atomics.load(cells, B.GENERATION) !== generation) return index;
    if (!done) this.#break();
    throw new BrokenBarrierError(
      done ? "The barrier was broken while waiting" : `The barrier timed out after ${ms} ms`,
    );
  }

  /** Breaks the barrier: waiting and future `wait()` calls throw BrokenBarrierError. */
  abort(): void {
    this.#break();
  }

  /** Returns the barrier to its initial state; threads waiting now get BrokenBarrierError. */
  reset(): void {
    const cells = this.#cells;
    this.#locked(() => {
      Atomics.add(cells, B.BREAKS, 1);
      cells[B.COUNT] = 0;
      Atomics.store(cells, B.BROKEN, 0);
    });
    signalWaiters(cells, B.SEQ);
  }

  /**
   * Reduces the barrier to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    const state: State = {
      cells: this.#cells.buffer as SharedArrayBuffer,
      action: this.#actionRef,
      timeout: this.#timeout ?? null,
    };
    return { type: "Barrier", id: this.#id, state };
  }

  #arrive(): { index: number; generation: number; breaks: number } {
    const cells = this.#cells;
    return this.#locked(() => {
      if (Atomics.load(cells, B.BROKEN) === 1) {
        throw new BrokenBarrierError("Cannot wait: the barrier is broken");
      }
      const count = cells[B.COUNT];
      // A full set is being released (its action may still run): do not count this thread yet.
      const index = count >= cells[B.PARTIES] ? count : cells[B.COUNT]++;
      return {
        index,
        generation: Atomics.load(cells, B.GENERATION),
        breaks: Atomics.load(cells, B.BREAKS),
      };
    });
  }

  #break(): void {
    const cells = this.#cells;
    this.#locked(() => {
      Atomics.store(cells, B.BROKEN, 1);
      Atomics.add(cells, B.BREAKS, 1);
      cells[B.COUNT] = 0;
    });
    signalWaiters(cells, B.SEQ);
  }

  async #runAction(): Promise<void> {
    if (!this.#actionRef) return;
    if (!this.#action) {
      const lookup = threadContext().lookup;
      if (!lookup) {
        throw new Error(
          "Cannot run the barrier action: this barrier was made in another thread and the main " +
            "thread cannot look functions up by reference; let a worker arrive last, or make " +
            "the barrier on the main thread",
        );
      }
      this.#action = await lookup(...this.#actionRef) as () => unknown;
    }
    await this.#action();
  }

  /** A tiny spin lock over the arrival bookkeeping (a few word updates). */
  #locked<T>(fn: () => T): T {
    const cells = this.#cells;
    enterCritical();
    while (Atomics.compareExchange(cells, B.LOCK, 0, 1) !== 0) {
      // Held for a few stores by another thread.
    }
    try {
      if (stopRequested()) {
        Atomics.store(cells, B.LOCK, 0);
        throw stopError();
      }
      return fn();
    } finally {
      Atomics.store(cells, B.LOCK, 0);
      leaveCritical();
    }
  }
}

registerShareable("Barrier", (state, id) => {
  reviving = { state: state as State, id };
  try {
    return new Barrier(1);
  } finally {
    reviving = undefined;
  }
});

/**
 * Synchronization primitives that work across the main thread, Pool workers
 * and Processes: Python's `multiprocessing.Lock`, `RLock`, `Semaphore`,
 * `BoundedSemaphore`, `Event` and `Condition`. Each lives in a few words of shared memory
 * and travels to other threads as an argument, on a queue or as a result.
 * Waiting never blocks an event loop.
 *
 * @module
 */
import { lockOwnerId } from "./_context.ts";
import {
  adoptHandle,
  newSharedId,
  registerShareable,
  reviveReduction,
  SHARE,
  type SharedReduction,
} from "./_shared_registry.ts";
import { takePlacement } from "./_placement.ts";
import { signalWaiters, waitUntil } from "./_wait.ts";

/**
 * Options of `acquire`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AcquireOptions, Lock } from "./synchronize.ts";
 * const lock = new Lock();
 * const now: AcquireOptions = { block: false };
 * assert.equal(await lock.acquire(now), true);
 * assert.equal(await lock.acquire({ timeout: 10 }), false); // held: gives up after 10 ms
 * lock.release();
 * ```
 */
export interface AcquireOptions {
  /**
   * Wait until it can be acquired; `false` answers at once.
   * @default {true}
   */
  block?: boolean;
  /** Milliseconds to wait when blocking; `undefined` waits forever. */
  timeout?: number;
}

/** Field indices of a primitive's shared words. */
const F = {
  /** Lock: 0 free, else the owner's id. Semaphore: the counter. Event: 0 or 1. */
  STATE: 0,
  /** The sequence word waiters sleep on (see _wait.ts). */
  SEQ: 1,
  /** RLock: how many times its owner holds it. BoundedSemaphore: the bound. */
  EXTRA: 2,
  WORDS: 3,
} as const;

/** RLock internals for Condition: release every hold, and take them back. */
const RELEASE_ALL = Symbol("release all");
const OWNED = Symbol("owned");
const RESTORE = Symbol("restore");

/** Set while a reviver constructs a handle on existing shared words. */
let reviving: { cells: SharedArrayBuffer; id: number } | undefined;

/** The shared words of a primitive, new or revived. */
function words(self: object): { cells: Int32Array; id: number; fresh: boolean } {
  if (reviving) return { cells: new Int32Array(reviving.cells), id: reviving.id, fresh: false };
  const id = newSharedId();
  adoptHandle(self, id);
  const buffer = takePlacement() ?? new SharedArrayBuffer(F.WORDS * 4);
  return { cells: new Int32Array(buffer, 0, F.WORDS), id, fresh: true };
}

function register<T extends object>(type: string, make: () => T): void {
  registerShareable(type, (state, id) => {
    reviving = { cells: state as SharedArrayBuffer, id };
    try {
      return make();
    } finally {
      reviving = undefined;
    }
  });
}

const ACQUIRED: Promise<boolean> = Promise.resolve(true);
const NOT_ACQUIRED: Promise<boolean> = Promise.resolve(false);

/** Tries once; only a lock that is taken pays for an async wait. */
function acquireWith(
  cells: Int32Array,
  tryAcquire: () => boolean,
  options: AcquireOptions,
): Promise<boolean> {
  if (tryAcquire()) return ACQUIRED;
  if (options.block === false) return NOT_ACQUIRED;
  return acquireWaiting(cells, tryAcquire, options);
}

async function acquireWaiting(
  cells: Int32Array,
  tryAcquire: () => boolean,
  options: AcquireOptions,
): Promise<boolean> {
  if (options.timeout !== undefined && !(options.timeout >= 0)) {
    throw new RangeError(`Cannot acquire: 'timeout' must be >= 0 ms, received ${options.timeout}`);
  }
  return await waitUntil(cells, F.SEQ, tryAcquire, options.timeout);
}

/**
 * A guard for `using`: releases on dispose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lock } from "./synchronize.ts";
 * const lock = new Lock();
 * {
 *   using _guard = await lock.hold(); // Python's `with lock:`
 *   assert.ok(lock.locked());
 * }
 * assert.ok(!lock.locked()); // released when the block ends
 * ```
 */
export interface Guard extends Disposable {
  /** Releases now (dispose does nothing afterwards). */
  release(): void;
}

function guard(release: () => void): Guard {
  let released = false;
  const once = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  return { release: once, [Symbol.dispose]: once };
}

/**
 * A mutual-exclusion lock shared between threads (Python's
 * `multiprocessing.Lock`). Any thread may release it, as in Python.
 *
 * A thread that dies holding the lock leaves it held: waiters that gave a
 * `timeout` get `false` when it passes; see the README ("Synchronization").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lock } from "./synchronize.ts";
 * const lock = new Lock();
 * {
 *   using _held = await lock.hold();
 *   assert.ok(lock.locked());
 * }
 * assert.ok(!lock.locked() && (await lock.acquire({ block: false })));
 * lock.release();
 * ```
 */
export class Lock {
  #cells: Int32Array;
  #id: number;

  /** Creates an unlocked lock. */
  constructor() {
    ({ cells: this.#cells, id: this.#id } = words(this));
  }

  /**
   * Acquires the lock.
   *
   * @param options `block` and `timeout` (ms).
   * @returns true when acquired; false when `block` is false or `timeout` passed.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const me = lockOwnerId();
    const cells = this.#cells;
    // The free case inline, without a closure (a hot loop takes this path).
    if (Atomics.compareExchange(cells, F.STATE, 0, me) === 0) return ACQUIRED;
    if (options?.block === false) return NOT_ACQUIRED;
    // Test, then test-and-set: waiters spinning on the compare-exchange alone
    // would pull the lock's cache line from its holder at every turn.
    return acquireWaiting(
      cells,
      () =>
        Atomics.load(cells, F.STATE) === 0 && Atomics.compareExchange(cells, F.STATE, 0, me) === 0,
      options ?? {},
    );
  }

  /**
   * Releases the lock.
   *
   * @throws {Error} When it is not locked (Python raises ValueError).
   */
  release(): void {
    if (Atomics.exchange(this.#cells, F.STATE, 0) === 0) {
      throw new Error("Cannot release the lock: it is not locked");
    }
    signalWaiters(this.#cells, F.SEQ);
  }

  /** Whether some thread holds it (a snapshot). */
  locked(): boolean {
    return Atomics.load(this.#cells, F.STATE) !== 0;
  }

  /**
   * Acquires and returns a guard that releases at the end of a `using` block.
   *
   * @throws {Error} When `timeout` passed without acquiring.
   */
  async hold(timeout?: number): Promise<Guard> {
    if (!(await this.acquire({ timeout }))) {
      throw new Error(`Cannot hold the lock: not acquired within ${timeout} ms`);
    }
    return guard(() => this.release());
  }

  /**
   * Reduces the lock to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { type: "Lock", id: this.#id, state: this.#cells.buffer };
  }
}

/**
 * A re-entrant lock (Python's `multiprocessing.RLock`): the thread that holds
 * it may acquire it again, and must release it as many times. The owner is a
 * thread (the main thread, or one worker), as in Python, so async tasks
 * running at once in one worker share ownership.
 *
 * @example
 * ```ts
 * import { RLock } from "./synchronize.ts";
 * const lock = new RLock();
 * await lock.acquire();
 * await lock.acquire(); // again: same owner
 * lock.release();
 * lock.release();
 * ```
 */
export class RLock {
  #cells: Int32Array;
  #id: number;

  /** Creates an unlocked re-entrant lock. */
  constructor() {
    ({ cells: this.#cells, id: this.#id } = words(this));
  }

  /**
   * Acquires the lock, or counts one more hold if this thread owns it.
   *
   * @param options `block` and `timeout` (ms).
   * @returns true when acquired.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const me = lockOwnerId();
    const cells = this.#cells;
    // A plain read (an Atomics.load is a ~15 ns call, a fifth of a pair):
    // only this thread writes its own id there, so it reads its id exactly
    // while it holds the lock; any other value falls to the compare-exchange.
    const state = cells[F.STATE];
    if (state === me) {
      cells[F.EXTRA]++;
      return ACQUIRED;
    }
    if (state === 0 && Atomics.compareExchange(cells, F.STATE, 0, me) === 0) {
      cells[F.EXTRA] = 1;
      return ACQUIRED;
    }
    if (options?.block === false) return NOT_ACQUIRED;
    return acquireWaiting(cells, () => {
      if (Atomics.load(cells, F.STATE) !== 0) return false; // test before test-and-set
      if (Atomics.compareExchange(cells, F.STATE, 0, me) !== 0) return false;
      cells[F.EXTRA] = 1;
      return true;
    }, options ?? {});
  }

  /**
   * Releases one hold; the last one unlocks.
   *
   * @throws {Error} When this thread does not hold it.
   */
  release(): void {
    const cells = this.#cells;
    // A plain read, as in acquire(): this thread sees its own id there only while it holds it.
    if (cells[F.STATE] !== lockOwnerId()) {
      throw new Error("Cannot release the re-entrant lock: this thread does not hold it");
    }
    if (--cells[F.EXTRA] > 0) return;
    Atomics.store(cells, F.STATE, 0);
    signalWaiters(cells, F.SEQ);
  }

  /**
   * Acquires and returns a guard for `using`.
   *
   * @throws {Error} When `timeout` passed without acquiring.
   */
  async hold(timeout?: number): Promise<Guard> {
    if (!(await this.acquire({ timeout }))) {
      throw new Error(`Cannot hold the lock: not acquired within ${timeout} ms`);
    }
    return guard(() => this.release());
  }

  /**
   * Whether this thread holds it.
   * @ignore
   */
  [OWNED](): boolean {
    return Atomics.load(this.#cells, F.STATE) === lockOwnerId();
  }

  /**
   * Releases every hold (for Condition.wait); returns how many there were.
   * @ignore
   */
  [RELEASE_ALL](): number {
    const cells = this.#cells;
    if (Atomics.load(cells, F.STATE) !== lockOwnerId()) {
      throw new Error("Cannot wait on the condition: this thread does not hold its lock");
    }
    const count = cells[F.EXTRA];
    cells[F.EXTRA] = 1;
    this.release();
    return count;
  }

  /**
   * Takes the lock back with `count` holds (after Condition.wait).
   * @ignore
   */
  async [RESTORE](count: number): Promise<void> {
    await this.acquire();
    this.#cells[F.EXTRA] = count;
  }

  /**
   * Reduces the lock to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { type: "RLock", id: this.#id, state: this.#cells.buffer };
  }
}

/**
 * A counting semaphore (Python's `multiprocessing.Semaphore`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Semaphore } from "./synchronize.ts";
 * const slots = new Semaphore(2);
 * await slots.acquire();
 * assert.ok(slots.getValue() === 1);
 * slots.release();
 * ```
 */
export class Semaphore {
  #cells: Int32Array;
  #id: number;

  /**
   * Creates a semaphore.
   *
   * @param value The initial count.
   * @throws {RangeError} When `value` is not an integer >= 0.
   */
  constructor(value = 1) {
    const w = words(this);
    this.#cells = w.cells;
    this.#id = w.id;
    if (w.fresh) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(
          `Cannot create semaphore: 'value' must be an integer >= 0, received ${value}`,
        );
      }
      this.#cells[F.STATE] = value;
      this.#cells[F.EXTRA] = value;
    }
  }

  /**
   * Takes one unit, waiting while the count is 0.
   *
   * @param options `block` and `timeout` (ms).
   * @returns true when taken.
   */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    const cells = this.#cells;
    return acquireWith(cells, () => {
      for (let v = Atomics.load(cells, F.STATE); v > 0; v = Atomics.load(cells, F.STATE)) {
        if (Atomics.compareExchange(cells, F.STATE, v, v - 1) === v) return true;
      }
      return false;
    }, options);
  }

  /** Gives one unit back. */
  release(): void {
    Atomics.add(this.#cells, F.STATE, 1);
    signalWaiters(this.#cells, F.SEQ);
  }

  /** The current count (a snapshot). */
  getValue(): number {
    return Atomics.load(this.#cells, F.STATE);
  }

  /** Python spelling of {@linkcode Semaphore.getValue}. */
  get_value(): number {
    return this.getValue();
  }

  /**
   * Acquires and returns a guard for `using`.
   *
   * @throws {Error} When `timeout` passed without acquiring.
   */
  async hold(timeout?: number): Promise<Guard> {
    if (!(await this.acquire({ timeout }))) {
      throw new Error(`Cannot hold the semaphore: not acquired within ${timeout} ms`);
    }
    return guard(() => this.release());
  }

  /** The shared words (for BoundedSemaphore). */
  protected get cells(): Int32Array {
    return this.#cells;
  }

  /**
   * Reduces the semaphore to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { type: this.constructor.name, id: this.#id, state: this.#cells.buffer };
  }
}

/**
 * A semaphore that refuses to go above its initial value (Python's
 * `multiprocessing.BoundedSemaphore`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BoundedSemaphore } from "./synchronize.ts";
 * const s = new BoundedSemaphore(1);
 * let refused = false;
 * try {
 *   s.release();
 * } catch {
 *   refused = true;
 * }
 * assert.ok(refused);
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * Gives one unit back.
   *
   * @throws {Error} When that would exceed the initial value.
   */
  override release(): void {
    const cells = this.cells;
    for (;;) {
      const v = Atomics.load(cells, F.STATE);
      if (v >= cells[F.EXTRA]) {
        throw new Error(
          `Cannot release the bounded semaphore: it is already at its initial value ${v}`,
        );
      }
      if (Atomics.compareExchange(cells, F.STATE, v, v + 1) === v) break;
    }
    signalWaiters(cells, F.SEQ);
  }
}

/**
 * An event flag threads wait on (Python's `multiprocessing.Event`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Event } from "./synchronize.ts";
 * const ready = new Event();
 * setTimeout(() => ready.set(), 10);
 * assert.ok(await ready.wait(5_000));
 * ```
 */
export class Event {
  #cells: Int32Array;
  #id: number;

  /** Creates a cleared event. */
  constructor() {
    ({ cells: this.#cells, id: this.#id } = words(this));
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    Atomics.store(this.#cells, F.STATE, 1);
    signalWaiters(this.#cells, F.SEQ);
  }

  /** Clears the flag. */
  clear(): void {
    Atomics.store(this.#cells, F.STATE, 0);
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.#cells, F.STATE) === 1;
  }

  /** Python spelling of {@linkcode Event.isSet}. */
  is_set(): boolean {
    return this.isSet();
  }

  /**
   * Waits until the flag is set.
   *
   * @param timeout Milliseconds; `undefined` waits forever.
   * @returns true when set, false when `timeout` passed first.
   */
  async wait(timeout?: number): Promise<boolean> {
    if (this.isSet()) return true;
    return await waitUntil(this.#cells, F.SEQ, () => this.isSet(), timeout);
  }

  /**
   * Reduces the event to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { type: "Event", id: this.#id, state: this.#cells.buffer };
  }
}

/** Field indices of a Condition's own words (after the lock's). */
const C = {
  /** Threads inside wait(). */
  SLEEPERS: 0,
  /** Wake-ups granted by notify and not yet taken. */
  TOKENS: 1,
  /** The sequence word waiters sleep on (see _wait.ts). */
  SEQ: 2,
} as const;

/**
 * A condition variable shared between threads (Python's
 * `multiprocessing.Condition`): `wait` releases the lock, sleeps until
 * `notify` or `notifyAll`, and takes the lock back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Condition } from "./synchronize.ts";
 * const cond = new Condition();
 * let ready = false;
 * setTimeout(async () => {
 *   using _held = await cond.hold();
 *   ready = true;
 *   cond.notifyAll();
 * }, 10);
 * using _held = await cond.hold();
 * assert.ok(await cond.waitFor(() => ready, 5_000));
 * ```
 */
export class Condition {
  #lock: Lock | RLock;
  #cells: Int32Array;
  #id: number;

  /**
   * Creates a condition.
   *
   * @param lock The lock it uses; a new RLock by default, as in Python.
   */
  constructor(lock?: Lock | RLock) {
    if (revivingCondition) {
      const { state, id } = revivingCondition;
      this.#lock = reviveReduction(state.lock) as Lock | RLock;
      this.#cells = new Int32Array(state.cells);
      this.#id = id;
      return;
    }
    this.#lock = lock ?? new RLock();
    this.#cells = new Int32Array(new SharedArrayBuffer(16));
    this.#id = newSharedId();
    adoptHandle(this, this.#id);
  }

  /**
   * Acquires the underlying lock.
   *
   * @param options `block` and `timeout` (ms).
   * @returns true when acquired.
   */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /**
   * Acquires the underlying lock and returns a guard for `using`.
   *
   * @throws {Error} When `timeout` passed without acquiring.
   */
  hold(timeout?: number): Promise<Guard> {
    return this.#lock.hold(timeout);
  }

  /**
   * Releases the lock, waits for a notify (or `timeout`), and takes the lock back.
   * Call it holding the lock.
   *
   * @param timeout Milliseconds; `undefined` waits forever.
   * @returns true when notified, false on timeout.
   */
  async wait(timeout?: number): Promise<boolean> {
    const cells = this.#cells;
    const lock = this.#lock;
    if (lock instanceof RLock ? !lock[OWNED]() : !lock.locked()) {
      throw new Error("Cannot wait on the condition: this thread does not hold its lock");
    }
    // Counted before the lock is released, so a notify right after sees this waiter.
    Atomics.add(cells, C.SLEEPERS, 1);
    const holds = lock instanceof RLock ? lock[RELEASE_ALL]() : (lock.release(), 1);
    const takeToken = () => {
      for (let t = Atomics.load(cells, C.TOKENS); t > 0; t = Atomics.load(cells, C.TOKENS)) {
        if (Atomics.compareExchange(cells, C.TOKENS, t, t - 1) === t) return true;
      }
      return false;
    };
    let notified: boolean;
    try {
      notified = await waitUntil(cells, C.SEQ, takeToken, timeout);
    } finally {
      const sleepers = Atomics.sub(cells, C.SLEEPERS, 1) - 1;
      // A wake-up granted to this waiter as it timed out must not linger for a later one.
      for (let t = Atomics.load(cells, C.TOKENS); t > sleepers; t = Atomics.load(cells, C.TOKENS)) {
        Atomics.compareExchange(cells, C.TOKENS, t, t - 1);
      }
      if (lock instanceof RLock) await lock[RESTORE](holds);
      else await lock.acquire();
    }
    return notified;
  }

  /**
   * Waits until `predicate()` is true, re-checking after each notify.
   *
   * @param predicate Checked with the lock held.
   * @param timeout Milliseconds in all; `undefined` waits forever.
   * @returns The predicate's last result.
   */
  async waitFor<T>(predicate: () => T, timeout?: number): Promise<T> {
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    let result = predicate();
    while (!result) {
      const left = deadline === undefined ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) break;
      await this.wait(left);
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiting threads. Call it holding the lock.
   *
   * @param n How many.
   */
  notify(n = 1): void {
    const cells = this.#cells;
    for (;;) {
      const tokens = Atomics.load(cells, C.TOKENS);
      const grant = Math.min(n, Atomics.load(cells, C.SLEEPERS) - tokens);
      if (grant <= 0) return;
      if (Atomics.compareExchange(cells, C.TOKENS, tokens, tokens + grant) === tokens) break;
    }
    signalWaiters(cells, C.SEQ);
  }

  /** Wakes every waiting thread. Call it holding the lock. */
  notifyAll(): void {
    this.notify(Atomics.load(this.#cells, C.SLEEPERS));
  }

  /** Python spelling of {@linkcode Condition.notifyAll}. */
  notify_all(): void {
    this.notifyAll();
  }

  /** Python spelling of {@linkcode Condition.waitFor}. */
  wait_for<T>(predicate: () => T, timeout?: number): Promise<T> {
    return this.waitFor(predicate, timeout);
  }

  /**
   * Reduces the condition to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return {
      type: "Condition",
      id: this.#id,
      state: { lock: this.#lock[SHARE](), cells: this.#cells.buffer },
    };
  }
}

let revivingCondition:
  | { state: { lock: SharedReduction; cells: SharedArrayBuffer }; id: number }
  | undefined;

registerShareable("Condition", (state, id) => {
  revivingCondition = { state: state as { lock: SharedReduction; cells: SharedArrayBuffer }, id };
  try {
    return new Condition();
  } finally {
    revivingCondition = undefined;
  }
});

register("Lock", () => new Lock());
register("RLock", () => new RLock());
register("Semaphore", () => new Semaphore());
register("BoundedSemaphore", () => new BoundedSemaphore());
register("Event", () => new Event());

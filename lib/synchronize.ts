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
import { checkWaitOptions } from "./_options.ts";
import { timeoutMs } from "./_timeout.ts";
import { TimeoutError } from "./errors.ts";
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
  /**
   * Milliseconds to wait when blocking; `undefined`, `null` and `Infinity` wait forever.
   * Negative or NaN is a RangeError.
   */
  timeout?: number | null;
}

/**
 * Checks the options of acquire(): known names, a valid timeout. Called only
 * when options are given (the hot path passes none).
 */
function checkAcquire(options: AcquireOptions): void {
  checkWaitOptions(options, "acquire");
  if (options.timeout != null) timeoutMs(options.timeout, "acquire");
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
  options: AcquireOptions | undefined,
): Promise<boolean> {
  if (options !== undefined) {
    try {
      checkAcquire(options);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (tryAcquire()) return ACQUIRED;
  if (options?.block === false) return NOT_ACQUIRED;
  return acquireWaiting(cells, tryAcquire, options);
}

/** Waits for the lock; `options` were checked by the caller. */
function acquireWaiting(
  cells: Int32Array,
  tryAcquire: () => boolean,
  options: AcquireOptions | undefined,
): Promise<boolean> {
  const timeout = options?.timeout === Infinity ? undefined : options?.timeout ?? undefined;
  return waitUntil(cells, F.SEQ, tryAcquire, timeout);
}

/** acquire() with a timeout for hold(); rejects with the hold's message when it passes. */
async function holdWith(
  acquire: (options: AcquireOptions) => Promise<boolean>,
  timeout: number | null | undefined,
  what: string,
): Promise<void> {
  const ms = timeoutMs(timeout, `hold the ${what}`);
  if (!(await acquire({ timeout: ms }))) {
    throw new TimeoutError(`Cannot hold the ${what}: not acquired within ${ms} ms`);
  }
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
 * `timeout` get `false` when it passes; see the guide, "Synchronization and shared memory".
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
   * @param options `block` and `timeout` (ms; `undefined`, `null` and `Infinity` wait forever).
   * @returns true when acquired; false when `block` is false or `timeout` passed.
   * @throws {RangeError} When `timeout` is negative or NaN (the Promise rejects).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options !== undefined) {
      try {
        checkAcquire(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
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
      options,
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
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @throws {TimeoutError} When `timeout` passed without acquiring.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async hold(timeout?: number | null): Promise<Guard> {
    await holdWith((o) => this.acquire(o), timeout, "lock");
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
   * @param options `block` and `timeout` (ms; `undefined`, `null` and `Infinity` wait forever).
   * @returns true when acquired.
   * @throws {RangeError} When `timeout` is negative or NaN (the Promise rejects).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    if (options !== undefined) {
      try {
        checkAcquire(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
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
    }, options);
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
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @throws {TimeoutError} When `timeout` passed without acquiring.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async hold(timeout?: number | null): Promise<Guard> {
    await holdWith((o) => this.acquire(o), timeout, "lock");
    return guard(() => this.release());
  }

  /**
   * Whether some thread holds it (a snapshot), as `Lock.locked()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RLock } from "./synchronize.ts";
   * const lock = new RLock();
   * assert.equal(lock.locked(), false);
   * await lock.acquire();
   * assert.equal(lock.locked(), true);
   * lock.release();
   * assert.equal(lock.locked(), false);
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#cells, F.STATE) !== 0;
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
   * @param options `block` and `timeout` (ms; `undefined`, `null` and `Infinity` wait forever).
   * @returns true when taken.
   * @throws {RangeError} When `timeout` is negative or NaN (the Promise rejects).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
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
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @throws {TimeoutError} When `timeout` passed without acquiring.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async hold(timeout?: number | null): Promise<Guard> {
    await holdWith((o) => this.acquire(o), timeout, "semaphore");
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
   * @param timeout Milliseconds; `undefined`, `null` (Python's None) and `Infinity` wait forever.
   * @returns true when set, false when `timeout` passed first.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const ms = timeoutMs(timeout, "wait for the event");
    if (this.isSet()) return true;
    return await waitUntil(this.#cells, F.SEQ, () => this.isSet(), ms);
  }

  /**
   * Reduces the event to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { type: "Event", id: this.#id, state: this.#cells.buffer };
  }
}

/**
 * Layout of a Condition's shared memory (Int32 words): a header, then one
 * slot per waiter (a waiter's ticket and its state). Slots are taken, marked
 * and freed only under the condition's lock; a sleeping waiter only reads its
 * own slot's state. The buffer grows (under the lock) when every slot is in
 * use.
 */
const C = {
  /** The sequence word waiters sleep on (see _wait.ts). */
  SEQ: 0,
  /** The next waiter's ticket: notify wakes the oldest tickets first. */
  NEXT_TICKET: 1,
  /** Slots in use or used before (a slot's index < SLOTS). */
  SLOTS: 2,
  HEADER: 4,
  /** Per slot: its state, then its ticket. */
  SLOT_WORDS: 2,
  FREE: 0,
  WAITING: 1,
  NOTIFIED: 2,
  INITIAL_SLOTS: 8,
  MAX_SLOTS: 1 << 20,
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
  /** The header and the waiters' slots (see C), over a growable buffer. */
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
    const slotBytes = C.SLOT_WORDS * 4;
    const buffer = new SharedArrayBuffer(C.HEADER * 4 + C.INITIAL_SLOTS * slotBytes, {
      maxByteLength: C.HEADER * 4 + C.MAX_SLOTS * slotBytes,
    });
    this.#cells = new Int32Array(buffer); // tracks the buffer's length as it grows
    this.#id = newSharedId();
    adoptHandle(this, this.#id);
  }

  /**
   * Acquires the underlying lock.
   *
   * @param options `block` and `timeout` (ms; `undefined`, `null` and `Infinity` wait forever).
   * @returns true when acquired.
   * @throws {RangeError} When `timeout` is negative or NaN (the Promise rejects).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /**
   * Acquires the underlying lock and returns a guard for `using`.
   *
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @throws {TimeoutError} When `timeout` passed without acquiring.
   */
  hold(timeout?: number | null): Promise<Guard> {
    return this.#lock.hold(timeout);
  }

  /**
   * Releases the lock, waits for a notify (or `timeout`), and takes the lock back.
   * Call it holding the lock.
   *
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @returns true when notified, false on timeout.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async wait(timeout?: number | null): Promise<boolean> {
    const ms = timeoutMs(timeout, "wait on the condition");
    const lock = this.#lock;
    this.#checkHeld("wait on");
    // Each waiter has a slot of its own, taken under the lock: notify marks
    // the oldest waiting slots, so a wake-up is meant for one waiter and no
    // other can take it, however late that waiter runs (CPython's notify
    // blocks until the woken have acknowledged, for the same reason).
    const cells = this.#cells;
    const slot = this.#takeSlot();
    const state = C.HEADER + slot * C.SLOT_WORDS;
    const holds = lock instanceof RLock ? lock[RELEASE_ALL]() : (lock.release(), 1);
    let notified = false;
    try {
      notified = await waitUntil(cells, C.SEQ, () => Atomics.load(cells, state) === C.NOTIFIED, ms);
    } finally {
      if (lock instanceof RLock) await lock[RESTORE](holds);
      else await lock.acquire();
      // Under the lock again: a notify that marked this slot as it timed
      // out counts (it was meant for this waiter); the slot is then free.
      notified = Atomics.load(cells, state) === C.NOTIFIED;
      Atomics.store(cells, state, C.FREE);
    }
    return notified;
  }

  /** A free slot, marked waiting with the next ticket; under the lock. */
  #takeSlot(): number {
    const cells = this.#cells;
    const slots = Atomics.load(cells, C.SLOTS);
    let slot = 0;
    while (slot < slots && Atomics.load(cells, C.HEADER + slot * C.SLOT_WORDS) !== C.FREE) slot++;
    if (slot === slots) {
      const needed = (C.HEADER + (slots + 1) * C.SLOT_WORDS) * 4;
      const buffer = cells.buffer as SharedArrayBuffer;
      if (needed > buffer.byteLength) {
        if (slots + 1 > C.MAX_SLOTS) {
          throw new RangeError(
            `Cannot wait on the condition: more than ${C.MAX_SLOTS} threads and tasks wait on it`,
          );
        }
        buffer.grow(Math.min(buffer.maxByteLength, Math.max(needed, buffer.byteLength * 2)));
      }
      Atomics.store(cells, C.SLOTS, slots + 1);
    }
    const at = C.HEADER + slot * C.SLOT_WORDS;
    Atomics.store(cells, at + 1, Atomics.add(cells, C.NEXT_TICKET, 1));
    Atomics.store(cells, at, C.WAITING);
    return slot;
  }

  #checkHeld(action: string): void {
    const lock = this.#lock;
    if (lock instanceof RLock ? !lock[OWNED]() : !lock.locked()) {
      throw new Error(`Cannot ${action} the condition: this thread does not hold its lock`);
    }
  }

  /**
   * Waits until `predicate()` is true, re-checking after each notify.
   *
   * @param predicate Checked with the lock held.
   * @param timeout Milliseconds in all; `undefined`, `null` and `Infinity` wait forever.
   * @returns The predicate's last result.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async waitFor<T>(predicate: () => T, timeout?: number | null): Promise<T> {
    const ms = timeoutMs(timeout, "wait on the condition");
    const deadline = ms === undefined ? undefined : performance.now() + ms;
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
   * Wakes the `n` threads (or tasks) that have waited longest; one that starts
   * waiting later cannot take their wake-up. Call it holding the lock.
   *
   * @param n How many.
   * @throws {Error} When this thread does not hold the lock (Python: RuntimeError).
   */
  notify(n = 1): void {
    this.#checkHeld("notify");
    const cells = this.#cells;
    const waiting: { at: number; ticket: number }[] = [];
    const slots = Atomics.load(cells, C.SLOTS);
    for (let slot = 0; slot < slots; slot++) {
      const at = C.HEADER + slot * C.SLOT_WORDS;
      if (Atomics.load(cells, at) === C.WAITING) {
        waiting.push({ at, ticket: Atomics.load(cells, at + 1) });
      }
    }
    if (waiting.length === 0 || !(n > 0)) return;
    // Oldest first; tickets wrap past 2^31, so compare by difference.
    waiting.sort((a, b) => (a.ticket - b.ticket) | 0);
    for (const { at } of waiting.slice(0, n)) Atomics.store(cells, at, C.NOTIFIED);
    signalWaiters(cells, C.SEQ);
  }

  /** Wakes every waiting thread. Call it holding the lock. */
  notifyAll(): void {
    this.notify(Infinity);
  }

  /** Python spelling of {@linkcode Condition.notifyAll}. */
  notify_all(): void {
    this.notifyAll();
  }

  /** Python spelling of {@linkcode Condition.waitFor}. */
  wait_for<T>(predicate: () => T, timeout?: number | null): Promise<T> {
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

/**
 * `Queue`, `JoinableQueue` and `SimpleQueue`: Python's multiprocessing queues,
 * usable at once from the main thread and any number of workers.
 *
 * Items are copied through shared memory with structured-clone fidelity (Date,
 * Map, Set, BigInt, typed arrays, `undefined`, nested objects, cycles). An item
 * that cannot be cloned is refused at `put()`. A queue given to a task, a
 * Process, or put on another queue arrives as a handle on the same queue.
 *
 * @module
 */
import { ByteQueue, type ByteQueueState, Q } from "./_byte_queue.ts";
import {
  decodeFrame,
  encodeQueueItem,
  type Frame,
  frameBytes,
  PLAIN,
  type QueueItem,
} from "./_item_codec.ts";
import {
  adoptHandle,
  newSharedId,
  registerShareable,
  SHARE,
  type SharedReduction,
  UnknownShared,
  whenShared,
} from "./_shared_registry.ts";
import { remaining, signalWaiters, waitForChange, waitUntil } from "./_wait.ts";
import { checkWaitOptions } from "./_options.ts";
import { timeoutMs } from "./_timeout.ts";
import { Empty, Full } from "./errors.ts";

/**
 * Options of {@linkcode Queue.put} and {@linkcode Queue.get}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Queue, type QueueWaitOptions } from "./queues.ts";
 * import { Empty, Full } from "./errors.ts";
 * const q = new Queue<number>(1);
 * const briefly: QueueWaitOptions = { timeout: 10 };
 * await q.put(1, briefly);
 * await assert.rejects(q.put(2, briefly), Full); // still full after 10 ms
 * assert.equal(await q.get({ block: false }), 1);
 * await assert.rejects(q.get({ block: false }), Empty);
 * ```
 */
export interface QueueWaitOptions {
  /**
   * Wait for room (put) or an item (get); `false` fails at once.
   * @default {true}
   */
  block?: boolean;
  /**
   * Milliseconds to wait when blocking; `undefined`, `null` (Python's None) and `Infinity`
   * wait forever. Negative or NaN is a RangeError.
   */
  timeout?: number | null;
}

/** The timeout of put/get options (undefined: forever), after checking the options. */
function waitTimeout(options: QueueWaitOptions, action: string): number | undefined {
  checkWaitOptions(options, action);
  return timeoutMs(options.timeout, action);
}

// Shared by every call that needs no options or returns nothing (no
// allocation per item on the fast paths).
const NO_OPTIONS: QueueWaitOptions = Object.freeze({});
const DONE: Promise<void> = Promise.resolve();

interface QueueState extends ByteQueueState {
  maxsize: number;
}

/**
 * A FIFO queue shared between threads (Python's `multiprocessing.Queue`).
 *
 * @typeParam T The item type.
 *
 * @example Producer and consumer
 * ```ts
 * import assert from "node:assert/strict";
 * import { Queue } from "./queues.ts";
 * const q = new Queue<string>(2);
 * await q.put("a");
 * q.putNowait("b");
 * assert.ok(q.full() && q.qsize() === 2);
 * assert.ok((await q.get()) === "a" && q.getNowait() === "b");
 * ```
 */
export class Queue<T = unknown> {
  /** The largest number of items it holds; 0 means unbounded. */
  readonly maxsize: number;
  #queue: ByteQueue;
  #id: number;
  #onPut = (): void => this.onPut();

  /**
   * Creates a queue.
   *
   * @param maxsize Items it may hold; 0 (or less) for no limit, as in Python.
   * @throws {TypeError} When `maxsize` is not an integer.
   */
  constructor(maxsize = 0) {
    if (!Number.isInteger(maxsize)) {
      throw new TypeError(`Cannot create queue: 'maxsize' must be an integer, received ${maxsize}`);
    }
    if (reviving) {
      // A handle on an existing queue, arriving from another thread.
      this.maxsize = reviving.state.maxsize;
      this.#queue = new ByteQueue(reviving.state);
      this.#id = reviving.id;
      return;
    }
    this.maxsize = Math.max(0, maxsize);
    this.#queue = new ByteQueue();
    this.#id = newSharedId();
    adoptHandle(this, this.#id);
  }

  /**
   * Puts `item` at the back, waiting for room in a full bounded queue.
   *
   * @param item Any structured-cloneable value.
   * @param options `block` and `timeout` (ms).
   * @throws {Full} When there is no room (at once, or after `timeout`).
   * @throws {TypeError} When the item cannot be cloned, or an option name is unknown; nothing
   *   is put.
   * @throws {RangeError} When `timeout` is negative or NaN; nothing is put.
   * @throws {Error} When the queue is closed.
   */
  put(item: T, options: QueueWaitOptions = NO_OPTIONS): Promise<void> {
    // Fast path without an async frame: there is usually room.
    let frame: QueueItem;
    let timeout: number | undefined;
    try {
      if (options !== NO_OPTIONS) timeout = waitTimeout(options, "put");
      frame = encodeQueueItem(item);
      if (this.#tryPut(frame)) return DONE;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#putWaiting(frame, options.block ?? true, timeout);
  }

  async #putWaiting(frame: QueueItem, block: boolean, timeout: number | undefined): Promise<void> {
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    const ctl = this.#queue.ctl;
    const hasRoom = () => this.#queue.count() < this.maxsize || Atomics.load(ctl, Q.CLOSED) === 1;
    while (!this.#tryPut(frame)) {
      if (!block) throw new Full("Cannot put: the queue is full");
      if (!(await waitUntil(ctl, Q.GET_SEQ, hasRoom, remaining(deadline)))) {
        throw new Full(`Cannot put: the queue stayed full for ${timeout} ms`);
      }
    }
  }

  /**
   * Puts `item` without waiting.
   *
   * @param item Any structured-cloneable value.
   * @throws {Full} When the queue is full.
   */
  putNowait(item: T): void {
    if (!this.#tryPut(encodeQueueItem(item))) {
      throw new Full("Cannot put: the queue is full");
    }
  }

  /**
   * Removes and returns the front item, waiting for one if the queue is empty.
   *
   * @param options `block` and `timeout` (ms).
   * @returns The item.
   * @throws {Empty} When there is none (at once, or after `timeout`).
   * @throws {TypeError} When an option name is unknown.
   * @throws {RangeError} When `timeout` is negative or NaN.
   * @throws {Error} When the queue is closed and empty.
   */
  get(options: QueueWaitOptions = NO_OPTIONS): Promise<T> {
    // Fast path without an async frame: an item is usually waiting.
    let frame: Frame | undefined;
    let timeout: number | undefined;
    try {
      if (options !== NO_OPTIONS) timeout = waitTimeout(options, "get");
      frame = this.#tryGet();
    } catch (error) {
      return Promise.reject(error);
    }
    return frame === undefined
      ? this.#getWaiting(options.block ?? true, timeout)
      : this.#decodeLater(frame);
  }

  async #getWaiting(block: boolean, timeout: number | undefined): Promise<T> {
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    const ctl = this.#queue.ctl;
    const hasItem = () => this.#queue.count() > 0 || Atomics.load(ctl, Q.CLOSED) === 1;
    for (;;) {
      const frame = this.#tryGet();
      if (frame !== undefined) {
        // Decoded here rather than by #decodeLater: an async function that
        // returns a promise takes two more turns of the microtask queue.
        try {
          return this.#decode(frame);
        } catch (error) {
          if (!(error instanceof UnknownShared)) throw error;
          await whenShared(error.id);
          return this.#decode(frame);
        }
      }
      if (!block) throw new Empty("Cannot get: the queue is empty");
      if (!(await waitUntil(ctl, Q.PUT_SEQ, hasItem, remaining(deadline)))) {
        throw new Empty(`Cannot get: the queue stayed empty for ${timeout} ms`);
      }
    }
  }

  /** Decodes a got frame, waiting first for a shared object still on its way to this thread. */
  #decodeLater(frame: Frame): Promise<T> {
    try {
      return Promise.resolve(this.#decode(frame));
    } catch (error) {
      return error instanceof UnknownShared
        ? whenShared(error.id).then(() => this.#decode(frame))
        : Promise.reject(error);
    }
  }

  /**
   * Removes and returns the front item without waiting.
   *
   * @returns The item.
   * @throws {Empty} When the queue is empty.
   */
  getNowait(): T {
    const frame = this.#tryGet();
    if (frame === undefined) throw new Empty("Cannot get: the queue is empty");
    try {
      return this.#decode(frame);
    } catch (error) {
      if (!(error instanceof UnknownShared)) throw error;
      // Not ready in this thread yet: it goes back to the front, untouched.
      this.#queue.unshift(frameBytes(frame));
      this.onUnget();
      whenShared(error.id);
      throw new Empty(
        "Cannot get at once: the next item holds a shared object still on its way to this " +
          "thread; await get() waits for it",
      );
    }
  }

  /** The number of items (a snapshot: other threads may change it at once). */
  qsize(): number {
    return this.#queue.count();
  }

  /** Whether the queue is empty (a snapshot). */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Whether a bounded queue is full (a snapshot). */
  full(): boolean {
    return this.maxsize > 0 && this.qsize() >= this.maxsize;
  }

  /**
   * Closes the queue for every thread: puts fail, gets return the remaining
   * items then fail, and every blocked put or get wakes with an error.
   */
  close(): void {
    const ctl = this.#queue.ctl;
    Atomics.store(ctl, Q.CLOSED, 1);
    signalWaiters(ctl, Q.PUT_SEQ);
    signalWaiters(ctl, Q.GET_SEQ);
  }

  /** Whether `close()` was called (by any thread). */
  get closed(): boolean {
    return Atomics.load(this.#queue.ctl, Q.CLOSED) === 1;
  }

  /** Python spelling of {@linkcode Queue.putNowait}. */
  put_nowait(item: T): void {
    this.putNowait(item);
  }

  /** Python spelling of {@linkcode Queue.getNowait}. */
  get_nowait(): T {
    return this.getNowait();
  }

  /**
   * Reduces the queue to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return {
      type: this.constructor.name,
      id: this.#id,
      state: { ...this.#queue.state, maxsize: this.maxsize } satisfies QueueState,
    };
  }

  /** The shared control fields (for subclasses). */
  protected get control(): Int32Array {
    return this.#queue.ctl;
  }

  /** Hook: an item was put (called with the lock held). */
  protected onPut(): void {}

  /** Hook: a got item went back to the front. */
  protected onUnget(): void {}

  #closedError(action: string): Error {
    return new Error(`Cannot ${action}: the queue is closed`);
  }

  #tryPut(item: QueueItem): boolean {
    const queue = this.#queue;
    const ctl = queue.ctl;
    // A plain read (an Atomics.load costs a fifth of a put): a close on this
    // thread is seen at once, and one on another thread races the put anyway.
    if (ctl[Q.CLOSED] === 1) throw this.#closedError("put");
    const done = queue.pushItem(item, this.maxsize, this.#onPut);
    if (done) signalWaiters(ctl, Q.PUT_SEQ);
    return done;
  }

  #tryGet(): Frame | undefined {
    const queue = this.#queue;
    const frame = queue.shift(PLAIN);
    if (frame !== undefined) {
      // Only putters to a bounded queue ever wait for room.
      if (this.maxsize > 0) signalWaiters(queue.ctl, Q.GET_SEQ);
      return frame;
    }
    if (Atomics.load(queue.ctl, Q.CLOSED) === 1) {
      throw this.#closedError("get: nothing is left and nothing more can come");
    }
    return undefined;
  }

  #decode(frame: Frame): T {
    return decodeFrame(frame) as T;
  }
}

/**
 * A {@linkcode Queue} that counts unfinished items: consumers call
 * `taskDone()` per item, and `join()` waits until every item put is done
 * (Python's `multiprocessing.JoinableQueue`).
 *
 * @typeParam T The item type.
 *
 * @example
 * ```ts
 * import { JoinableQueue } from "./queues.ts";
 * const q = new JoinableQueue<number>();
 * await q.put(1);
 * await q.get();
 * q.taskDone();
 * await q.join(); // returns: nothing unfinished
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * Marks one item got from the queue as processed.
   *
   * @throws {Error} When called more times than items were put.
   */
  taskDone(): void {
    const ctl = this.control;
    for (;;) {
      const unfinished = Atomics.load(ctl, Q.UNFINISHED);
      if (unfinished <= 0) {
        throw new Error("Cannot call taskDone(): called more times than there were items");
      }
      if (Atomics.compareExchange(ctl, Q.UNFINISHED, unfinished, unfinished - 1) === unfinished) {
        if (unfinished === 1) Atomics.notify(ctl, Q.UNFINISHED);
        return;
      }
    }
  }

  /**
   * Waits until every item put has been marked done with `taskDone()`.
   *
   * @param timeout Milliseconds to wait; `undefined`, `null` and `Infinity` wait forever.
   * @returns true when all are done, false on timeout.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async join(timeout?: number | null): Promise<boolean> {
    const ms = timeoutMs(timeout, "join the queue");
    const ctl = this.control;
    const deadline = ms === undefined ? undefined : performance.now() + ms;
    for (;;) {
      const unfinished = Atomics.load(ctl, Q.UNFINISHED);
      if (unfinished === 0) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      await waitForChange(ctl, Q.UNFINISHED, unfinished, left);
    }
  }

  /** Python spelling of {@linkcode JoinableQueue.taskDone}. */
  task_done(): void {
    this.taskDone();
  }

  /** Counts the item as unfinished, in the same critical section as the put. */
  protected override onPut(): void {
    Atomics.add(this.control, Q.UNFINISHED, 1);
  }

  /** An item put back is still the same unfinished item. */
  protected override onUnget(): void {}
}

/**
 * An unbounded queue with only `put`, `get`, `empty` and `close` (Python's
 * `multiprocessing.SimpleQueue`).
 *
 * @typeParam T The item type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SimpleQueue } from "./queues.ts";
 * const q = new SimpleQueue<number[]>();
 * await q.put([1, 2]);
 * assert.ok(!q.empty() && (await q.get()).length === 2);
 * ```
 */
export class SimpleQueue<T = unknown> {
  #queue: Queue<T>;

  /** Creates an empty queue. */
  constructor() {
    this.#queue = new Queue<T>();
    // This handle, not the inner queue, answers for the id.
    adoptHandle(this, this.#queue[SHARE]().id);
  }

  /**
   * Puts an item at the back.
   *
   * @param item Any structured-cloneable value.
   */
  put(item: T): Promise<void> {
    return this.#queue.put(item);
  }

  /**
   * Removes and returns the front item, waiting for one.
   *
   * @returns The item.
   */
  get(): Promise<T> {
    return this.#queue.get();
  }

  /** Whether the queue is empty (a snapshot). */
  empty(): boolean {
    return this.#queue.empty();
  }

  /** Closes the queue (see {@linkcode Queue.close}). */
  close(): void {
    this.#queue.close();
  }

  /**
   * Reduces the queue to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return { ...this.#queue[SHARE](), type: "SimpleQueue" };
  }
}

/** Set while a reviver constructs a handle on an existing queue. */
let reviving: { state: QueueState; id: number } | undefined;

function reviver<H>(make: () => H): (state: unknown, id: number) => H {
  return (state, id) => {
    reviving = { state: state as QueueState, id };
    try {
      return make();
    } finally {
      reviving = undefined;
    }
  };
}

registerShareable("Queue", reviver(() => new Queue()));
registerShareable("JoinableQueue", reviver(() => new JoinableQueue()));
registerShareable("SimpleQueue", reviver(() => new SimpleQueue()));

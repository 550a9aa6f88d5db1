/**
 * `Pipe` and `Connection`: Python's `multiprocessing.Pipe`, two connected
 * ends that send and receive messages (any structured-cloneable value) or raw
 * bytes between threads, through shared memory.
 *
 * @module
 */
import { ByteQueue, type ByteQueueState, Q } from "./_byte_queue.ts";
import { decodeFrame, encodeQueueItem, type Frame, frameBytes, PLAIN } from "./_item_codec.ts";
import {
  adoptHandle,
  newSharedId,
  onProcessEnd,
  registerShareable,
  SHARE,
  type SharedReduction,
  UnknownShared,
  whenShared,
} from "./_shared_registry.ts";
import { signalWaiters, waitUntil } from "./_wait.ts";
import { checkOptions } from "./_options.ts";
import { timeoutMs } from "./_timeout.ts";
import { EOFError } from "./errors.ts";

/** Frame kind of a `sendBytes` message. */
const BYTES = 2;
const READ_AHEAD = 64;

const DROP = Symbol("drop reference");

/** Set while Pipe() or a reviver constructs a handle. */
let making: { state: EndState; id?: number } | undefined;
/** Handles that arrived from other threads, closed when a Process ends. */
const revived = new Set<Connection>();

function make(state: EndState, id?: number): Connection {
  making = { state, id };
  try {
    return new Connection();
  } finally {
    making = undefined;
  }
}

// A Process's handles close when its target ends, as its file descriptors
// would when it exits.
onProcessEnd(() => {
  for (const connection of revived) connection.close();
  revived.clear();
});

/**
 * Options of {@linkcode Pipe}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe, type PipeOptions } from "./connection.ts";
 * const oneWay: PipeOptions = { duplex: false };
 * const [reader, writer] = Pipe(oneWay);
 * writer.send("hi");
 * assert.equal(await reader.recv(), "hi");
 * assert.throws(() => reader.send("back"), /can only receive/);
 * ```
 */
export interface PipeOptions {
  /**
   * Both ends send and receive; `false` makes the first end receive only and
   * the second send only.
   * @default {true}
   */
  duplex?: boolean;
}

interface EndState {
  /** The queue this end reads, or null for a send-only end. */
  rx: ByteQueueState | null;
  /** The queue this end writes, or null for a receive-only end. */
  tx: ByteQueueState | null;
  /** Int32 [open handles of this end]. */
  refs: SharedArrayBuffer;
}

/**
 * One end of a {@linkcode Pipe}.
 *
 * An end can be handed to tasks and Processes; each thread's handle is closed
 * on its own, and the peer sees end-of-file once every handle of this end is
 * closed (a Process's handles close when it ends, as its file descriptors
 * would) and every message sent has been read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe } from "./connection.ts";
 * const [a, b] = Pipe();
 * a.send({ hello: "world" });
 * assert.ok((await b.recv<{ hello: string }>()).hello === "world");
 * a.close();
 * assert.ok(await b.poll()); // readable: end-of-file is waiting
 * ```
 */
export class Connection {
  #state: EndState;
  #rx: ByteQueue | null;
  #tx: ByteQueue | null;
  #refs: Int32Array;
  #id: number;
  #closed = false;
  // Read-ahead: a receive takes up to READ_AHEAD messages under one lock, but
  // only while this is the one open handle of its end, so no other reader
  // could have had them. Handles of the end only multiply through [SHARE]
  // on this thread, which puts the read-ahead back first. With more handles
  // (two consumers reading one end under a Lock, as in seed 001) each
  // receive takes exactly one message.
  // The read-ahead is #inbox[#inboxHead .. #inboxEnd); taken slots are
  // cleared, so a big message is not kept alive by it.
  #inbox: (Frame | undefined)[] = [];
  #inboxHead = 0;
  #inboxEnd = 0;

  /**
   * Connections come from {@linkcode Pipe}.
   *
   * @throws {TypeError} When called directly.
   */
  constructor() {
    if (!making) throw new TypeError("Cannot construct a Connection directly: use Pipe()");
    const { state, id } = making;
    this.#state = state;
    this.#rx = state.rx && new ByteQueue(state.rx);
    this.#tx = state.tx && new ByteQueue(state.tx);
    this.#refs = new Int32Array(state.refs);
    if (id === undefined) {
      // A new end: this handle holds its first reference.
      Atomics.store(this.#refs, 0, 1);
      this.#id = newSharedId();
      adoptHandle(this, this.#id);
    } else {
      // Revived: the reduction that brought it carried a reference.
      this.#id = id;
      revived.add(this);
    }
  }

  /** Whether this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this end can receive. */
  get readable(): boolean {
    return this.#rx !== null;
  }

  /** Whether this end can send. */
  get writable(): boolean {
    return this.#tx !== null;
  }

  /**
   * Sends `value` to the other end (never waits: the pipe grows as needed).
   *
   * @param value Any structured-cloneable value.
   * @throws {TypeError} When the value cannot be cloned; nothing is sent.
   * @throws {Error} When this end is closed or receive-only, or the other end is closed.
   */
  send(value: unknown): void {
    const tx = this.#writer("send");
    tx.pushItem(encodeQueueItem(value));
    signalWaiters(tx.ctl, Q.PUT_SEQ);
  }

  /**
   * Sends bytes as one message (Python's `send_bytes`).
   *
   * @param data The bytes (or any ArrayBuffer view).
   * @param offset First byte to send, counted in bytes of `data`.
   * @param size Bytes to send; the rest of `data` when omitted.
   * @throws {RangeError} When `offset`/`size` fall outside `data`.
   */
  sendBytes(data: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    const tx = this.#writer("sendBytes");
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const length = size ?? bytes.length - offset;
    if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
      throw new RangeError(
        `Cannot sendBytes: 'offset' ${offset} is outside the ${bytes.length} bytes`,
      );
    }
    if (!Number.isInteger(length) || length < 0 || offset + length > bytes.length) {
      throw new RangeError(
        `Cannot sendBytes: 'size' ${size} from offset ${offset} exceeds the ${bytes.length} bytes`,
      );
    }
    tx.push([new Uint8Array([BYTES]), bytes.subarray(offset, offset + length)]);
    signalWaiters(tx.ctl, Q.PUT_SEQ);
  }

  /**
   * Receives the next message, waiting for one.
   *
   * @returns The value sent (a `sendBytes` message comes back as a Uint8Array).
   * @throws {EOFError} When the other end is closed and everything sent was read.
   */
  recv<T = unknown>(): Promise<T> {
    // Fast path without an async frame: a message is usually waiting.
    let frame: Frame | undefined;
    try {
      frame = this.#take(this.#reader("recv"));
    } catch (error) {
      return Promise.reject(error);
    }
    if (frame === undefined) return this.#recvWaiting<T>();
    try {
      return Promise.resolve(this.#message<T>(frame));
    } catch (error) {
      return error instanceof UnknownShared
        ? whenShared(error.id).then(() => this.#message<T>(frame))
        : Promise.reject(error);
    }
  }

  async #recvWaiting<T>(): Promise<T> {
    const frame = await this.#next("recv");
    try {
      return this.#message<T>(frame);
    } catch (error) {
      if (!(error instanceof UnknownShared)) throw error;
      await whenShared(error.id);
      return this.#message<T>(frame);
    }
  }

  #message<T>(frame: Frame): T {
    if (frame instanceof Uint8Array && frame[0] === BYTES) return frame.slice(1) as T;
    return decodeFrame(frame) as T;
  }

  /**
   * Receives the next message as bytes (Python's `recv_bytes`).
   *
   * @param maxlength The largest message accepted.
   * @returns The bytes.
   * @throws {RangeError} When the message is longer than `maxlength`; it stays unread.
   * @throws {EOFError} When the other end is closed and everything sent was read.
   */
  async recvBytes(maxlength?: number): Promise<Uint8Array> {
    const frame = await this.#next("recvBytes");
    const bytes = frame instanceof Uint8Array && frame[0] === BYTES
      ? frame.slice(1)
      : frameBytes(frame);
    if (maxlength !== undefined && bytes.length > maxlength) {
      this.#putBack(frame);
      throw new RangeError(
        `Cannot recvBytes: the message has ${bytes.length} bytes, more than maxlength ${maxlength}`,
      );
    }
    return bytes;
  }

  /**
   * Whether there is something to read: a message, or end-of-file.
   *
   * @param timeout Milliseconds to wait for it: 0 (the default) checks at once; `null`
   *   (Python's None) and `Infinity` wait forever.
   * @returns true when `recv()` would not wait.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    const ms = timeoutMs(timeout, "poll");
    const rx = this.#reader("poll");
    const readable = () =>
      this.#inboxHead < this.#inboxEnd || rx.count() > 0 || this.#peerClosed(rx);
    if (readable() || ms === 0) return readable();
    return await waitUntil(rx.ctl, Q.PUT_SEQ, readable, ms);
  }

  /**
   * Closes this handle. The other end sees end-of-file once every handle of
   * this end is closed. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    this.#inboxHead = this.#inboxEnd = 0;
    dropReference(this.#state);
  }

  /** Python spelling of {@linkcode Connection.sendBytes}. */
  send_bytes(data: ArrayBufferView | ArrayBuffer, offset?: number, size?: number): void {
    this.sendBytes(data, offset, size);
  }

  /** Python spelling of {@linkcode Connection.recvBytes}. */
  recv_bytes(maxlength?: number): Promise<Uint8Array> {
    return this.recvBytes(maxlength);
  }

  /** `using conn = ...`: closes this handle. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Reduces this end to its shared state; the reduction carries one reference.
   * @ignore
   */
  [SHARE](): SharedReduction {
    if (this.#closed) throw new Error("Cannot send a closed connection to another thread");
    // Messages read ahead go back to the pipe, in order, for the next holder.
    if (this.#rx) {
      while (this.#inboxEnd > this.#inboxHead) {
        const frame = this.#inbox[--this.#inboxEnd]!;
        this.#inbox[this.#inboxEnd] = undefined;
        this.#rx.unshift(frameBytes(frame));
      }
    }
    Atomics.add(this.#refs, 0, 1);
    return { type: "Connection", id: this.#id, state: this.#state };
  }

  /**
   * Drops the reference a duplicate reduction carried.
   * @ignore
   */
  [DROP](): void {
    Atomics.sub(this.#refs, 0, 1);
  }

  async #next(action: string): Promise<Frame> {
    const rx = this.#reader(action);
    const readable = () =>
      this.#inboxHead < this.#inboxEnd || rx.count() > 0 || this.#peerClosed(rx);
    for (;;) {
      const frame = this.#take(rx);
      if (frame !== undefined) return frame;
      if (this.#peerClosed(rx)) {
        throw new EOFError(`Cannot ${action}: the other end is closed and nothing is left`);
      }
      await waitUntil(rx.ctl, Q.PUT_SEQ, readable);
    }
  }

  /** The next message from the read-ahead, refilled from the pipe. */
  #take(rx: ByteQueue): Frame | undefined {
    if (this.#inboxHead === this.#inboxEnd) {
      const soleReader = Atomics.load(this.#refs, 0) === 1;
      this.#inboxHead = 0;
      this.#inboxEnd = rx.shiftMany(PLAIN, soleReader ? READ_AHEAD : 1, this.#inbox);
      if (this.#inboxEnd === 0) return undefined;
    }
    const frame = this.#inbox[this.#inboxHead]!;
    this.#inbox[this.#inboxHead++] = undefined;
    return frame;
  }

  #putBack(frame: Frame): void {
    if (this.#inboxHead > 0) {
      this.#inbox[--this.#inboxHead] = frame;
    } else {
      this.#inbox.unshift(frame);
      this.#inboxEnd++;
    }
  }

  #peerClosed(rx: ByteQueue): boolean {
    return Atomics.load(rx.ctl, Q.CLOSED) === 1;
  }

  #reader(action: string): ByteQueue {
    if (this.#closed) throw new Error(`Cannot ${action}: the connection is closed`);
    if (!this.#rx) {
      throw new Error(`Cannot ${action}: this end of a one-way pipe can only send`);
    }
    return this.#rx;
  }

  #writer(action: string): ByteQueue {
    if (this.#closed) throw new Error(`Cannot ${action}: the connection is closed`);
    if (!this.#tx) {
      throw new Error(`Cannot ${action}: this end of a one-way pipe can only receive`);
    }
    // A plain read (an Atomics.load is ~20 ns, a fifth of a send): a stale 0
    // lets one more message into a pipe nobody reads, as a send just before
    // the close would have.
    if (this.#tx.ctl[Q.READER_CLOSED] === 1) {
      throw new Error(`Cannot ${action}: the other end is closed`);
    }
    return this.#tx;
  }
}

/**
 * Drops one reference to an end; the last one tells the peer (and wakes its
 * waiters): end-of-file for its reader, "closed" for its writer.
 */
function dropReference(state: EndState): void {
  if (Atomics.sub(new Int32Array(state.refs), 0, 1) !== 1) return;
  if (state.tx) {
    const ctl = new Int32Array(state.tx.ctl);
    Atomics.store(ctl, Q.CLOSED, 1);
    signalWaiters(ctl, Q.PUT_SEQ);
  }
  if (state.rx) {
    const ctl = new Int32Array(state.rx.ctl);
    Atomics.store(ctl, Q.READER_CLOSED, 1);
    signalWaiters(ctl, Q.PUT_SEQ);
  }
}

/**
 * Makes a pipe: two connected ends (Python's `multiprocessing.Pipe`).
 *
 * @param options `duplex` (default true).
 * @returns `[a, b]`: with `duplex: false`, `a` receives only and `b` sends only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe } from "./connection.ts";
 * const [reader, writer] = Pipe({ duplex: false });
 * writer.sendBytes(new Uint8Array([1, 2, 3]));
 * assert.ok((await reader.recvBytes()).length === 3);
 * ```
 */
export function Pipe(options: PipeOptions = {}): [Connection, Connection] {
  checkOptions(options, ["duplex"], "create pipe");
  const duplex = options.duplex ?? true;
  const forward = new ByteQueue().state; // b -> a
  const backward = duplex ? new ByteQueue().state : null; // a -> b
  const a = make({ rx: forward, tx: backward, refs: new SharedArrayBuffer(4) });
  const b = make({ rx: backward, tx: forward, refs: new SharedArrayBuffer(4) });
  return [a, b];
}

registerShareable(
  "Connection",
  (state, id) => make(state as EndState, id),
  (handle) => (handle as Connection)[DROP](),
  (state) => dropReference(state as EndState),
);

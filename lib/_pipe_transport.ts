// A Pipe's end: two byte queues in shared memory (one per direction) and a
// count of the open handles of the end, across threads.

import { ByteQueue, type ByteQueueState, Q } from "./_byte_queue.ts";
import { decodeFrame, encodeQueueItem, type Frame, frameBytes, PLAIN } from "./_item_codec.ts";
import {
  newSharedId,
  type SharedReduction,
  UnknownShared,
  whenShared,
} from "./_shared_registry.ts";
import { signalWaiters, waitUntil } from "./_wait.ts";
import type { Transport } from "./_transport.ts";
import { EOFError } from "./errors.ts";

/** Frame kind of a `sendBytes` message. */
const BYTES = 2;
const READ_AHEAD = 64;
const DONE: Promise<void> = Promise.resolve();

/** The shared state of one end. */
export interface EndState {
  /** The queue this end reads, or null for a send-only end. */
  rx: ByteQueueState | null;
  /** The queue this end writes, or null for a receive-only end. */
  tx: ByteQueueState | null;
  /** Int32 [open handles of this end]. */
  refs: SharedArrayBuffer;
}

/** The two ends of a new pipe: `[a, b]`; with `duplex` false, a receives only and b sends only. */
export function newPipe(duplex: boolean): [EndState, EndState] {
  const forward = new ByteQueue().state; // b -> a
  const backward = duplex ? new ByteQueue().state : null; // a -> b
  return [
    { rx: forward, tx: backward, refs: new SharedArrayBuffer(4) },
    { rx: backward, tx: forward, refs: new SharedArrayBuffer(4) },
  ];
}

/** One thread's handle on a pipe's end. */
export class PipeTransport implements Transport {
  readonly id: number;
  #state: EndState;
  #rx: ByteQueue | null;
  #tx: ByteQueue | null;
  #refs: Int32Array;
  #closed = false;
  // Read-ahead: a receive takes up to READ_AHEAD messages under one lock, but
  // only while this is the one open handle of its end, so no other reader
  // could have had them. Handles of the end only multiply through share()
  // on this thread, which puts the read-ahead back first. With more handles
  // (two consumers reading one end under a Lock, as in seed 001) each
  // receive takes exactly one message.
  // The read-ahead is #inbox[#inboxHead .. #inboxEnd); taken slots are
  // cleared, so a big message is not kept alive by it.
  #inbox: (Frame | undefined)[] = [];
  #inboxHead = 0;
  #inboxEnd = 0;

  /**
   * A handle on `state`: a new end (no `id`: it takes the first reference)
   * or one revived from a reduction (which carried a reference).
   */
  constructor(state: EndState, id?: number) {
    this.#state = state;
    this.#rx = state.rx && new ByteQueue(state.rx);
    this.#tx = state.tx && new ByteQueue(state.tx);
    this.#refs = new Int32Array(state.refs);
    if (id === undefined) {
      Atomics.store(this.#refs, 0, 1);
      this.id = newSharedId();
    } else {
      this.id = id;
    }
  }

  get readable(): boolean {
    return this.#rx !== null;
  }

  get writable(): boolean {
    return this.#tx !== null;
  }

  send(value: unknown): Promise<void> {
    const tx = this.#writer("send");
    tx.pushItem(encodeQueueItem(value));
    signalWaiters(tx.ctl, Q.PUT_SEQ);
    return DONE;
  }

  sendBytes(bytes: Uint8Array): Promise<void> {
    const tx = this.#writer("sendBytes");
    tx.push([new Uint8Array([BYTES]), bytes]);
    signalWaiters(tx.ctl, Q.PUT_SEQ);
    return DONE;
  }

  recv(): Promise<unknown> {
    // Fast path without an async frame: a message is usually waiting.
    const frame = this.#take(this.#rx!);
    if (frame === undefined) return this.#recvWaiting();
    try {
      return Promise.resolve(this.#message(frame));
    } catch (error) {
      return error instanceof UnknownShared
        ? whenShared(error.id).then(() => this.#message(frame))
        : Promise.reject(error);
    }
  }

  async #recvWaiting(): Promise<unknown> {
    const frame = await this.#next("recv");
    try {
      return this.#message(frame);
    } catch (error) {
      if (!(error instanceof UnknownShared)) throw error;
      await whenShared(error.id);
      return this.#message(frame);
    }
  }

  #message(frame: Frame): unknown {
    if (frame instanceof Uint8Array && frame[0] === BYTES) return frame.slice(1);
    return decodeFrame(frame);
  }

  async recvBytes(maxlength: number | undefined): Promise<Uint8Array> {
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

  async poll(ms: number | undefined): Promise<boolean> {
    const rx = this.#rx!;
    const readable = () =>
      this.#inboxHead < this.#inboxEnd || rx.count() > 0 || this.#peerClosed(rx);
    if (readable() || ms === 0) return readable();
    return await waitUntil(rx.ctl, Q.PUT_SEQ, readable, ms);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    this.#inboxHead = this.#inboxEnd = 0;
    dropReference(this.#state);
  }

  /** Reduces this end to its shared state; the reduction carries one reference. */
  share(): SharedReduction {
    // Messages read ahead go back to the pipe, in order, for the next holder.
    if (this.#rx) {
      while (this.#inboxEnd > this.#inboxHead) {
        const frame = this.#inbox[--this.#inboxEnd]!;
        this.#inbox[this.#inboxEnd] = undefined;
        this.#rx.unshift(frameBytes(frame));
      }
    }
    Atomics.add(this.#refs, 0, 1);
    return { type: "Connection", id: this.id, state: this.#state };
  }

  /** Drops the reference a duplicate reduction carried. */
  dropDuplicate(): void {
    Atomics.sub(this.#refs, 0, 1);
  }

  async #next(action: string): Promise<Frame> {
    const rx = this.#rx!;
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

  #writer(action: string): ByteQueue {
    const tx = this.#tx!;
    // A plain read (an Atomics.load is ~20 ns, a fifth of a send): a stale 0
    // lets one more message into a pipe nobody reads, as a send just before
    // the close would have.
    if (tx.ctl[Q.READER_CLOSED] === 1) {
      throw new Error(`Cannot ${action}: the other end is closed`);
    }
    return tx;
  }
}

/**
 * Drops one reference to an end; the last one tells the peer (and wakes its
 * waiters): end-of-file for its reader, "closed" for its writer.
 */
export function dropReference(state: EndState): void {
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

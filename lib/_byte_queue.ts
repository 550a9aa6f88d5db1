// A multi-producer, multi-consumer queue of byte frames in shared memory: the
// storage under Queue, JoinableQueue, SimpleQueue and Pipe.
//
// Layout: `ctl` (Int32 fields, named in Q below) and `data`, a growable
// SharedArrayBuffer used as a byte ring that doubles when a frame does not
// fit (so items of any size, 64 MiB and more, fit). Every operation takes the
// spin lock Q.LOCK; critical sections are synchronous and short (a copy).
//
// Fields are written with plain stores inside the critical section: other
// threads read them only under the lock, whose atomic acquire and release
// order them. (COUNT is also read without the lock, as a snapshot.)
//
// Consistency under termination: a frame is written first and published last
// by one store of Q.TAIL; a get copies the frame out first and consumes it
// last by one store of Q.HEAD. A Web Worker's terminate() cannot interrupt
// synchronous code, so an operation always completes; were it cut short
// before its final store, the queue would be as before it (nothing half-put,
// nothing lost).

/** Field indices of a byte queue's control block. */
export const Q = {
  LOCK: 0,
  /** Ring offset of the oldest frame. */
  HEAD: 1,
  /** Ring offset where the next frame goes. */
  TAIL: 2,
  /** Bytes in use. */
  USED: 3,
  /** Frames in the queue. */
  COUNT: 4,
  /** 1 once closed. */
  CLOSED: 5,
  /** Bumped by every put (getters wait on it). */
  PUT_SEQ: 6,
  /** Bumped by every get (putters wait on it). */
  GET_SEQ: 7,
  WAITERS: 8,
  /** JoinableQueue: items put and not yet marked done. */
  UNFINISHED: 9,
  /** Ring capacity in bytes (the data buffer's current length). */
  CAPACITY: 10,
  /** Pipe: 1 once every handle of the reading end is closed. */
  READER_CLOSED: 11,
  FIELDS: 12,
} as const;

import { checkStop, enterCritical, leaveCritical } from "./_context.ts";

const INITIAL_BYTES = 64 * 1024;
/** Frames up to this many bytes take the no-allocation text paths. */
const SHORT_TEXT = 256;
const encoder = new TextEncoder();

/** Frames start on 4-byte boundaries so their length word is an aligned Int32. */
function align(length: number): number {
  return (length + 3) & ~3;
}
const MAX_BYTES = 2 ** 32; // virtual reservation; memory is committed as the ring grows

/** The shared state of a byte queue, as it travels to other threads. */
export interface ByteQueueState {
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** One thread's handle on a byte queue. */
export class ByteQueue {
  readonly ctl: Int32Array;
  readonly state: ByteQueueState;
  #data: SharedArrayBuffer;
  #bytes: Uint8Array;
  #words: Int32Array;

  /** Creates a queue, or attaches to an existing one's `state`. */
  constructor(state?: ByteQueueState) {
    this.state = state ?? {
      ctl: new SharedArrayBuffer(Q.FIELDS * 4),
      data: new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES }),
    };
    this.ctl = new Int32Array(this.state.ctl);
    this.#data = this.state.data;
    // Length-tracking view: it follows the buffer when any thread grows it.
    this.#bytes = new Uint8Array(this.#data);
    this.#words = new Int32Array(this.#data);
    if (!state) Atomics.store(this.ctl, Q.CAPACITY, INITIAL_BYTES);
  }

  /** Runs `fn` holding the lock. */
  locked<R>(fn: () => R): R {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /** Takes the lock (a futex mutex, Drepper's: 0 free, 1 held, 2 held with waiters). */
  lock(): void {
    enterCritical();
    const ctl = this.ctl;
    let c = Atomics.compareExchange(ctl, Q.LOCK, 0, 1);
    if (c !== 0) {
      // Spin first: the holder only copies a few bytes, so it is usually done
      // long before a futex sleep and wake-up would be.
      for (let spins = 0; spins < 200 && c !== 0; spins++) {
        c = Atomics.load(ctl, Q.LOCK) === 0 ? Atomics.compareExchange(ctl, Q.LOCK, 0, 1) : 1;
      }
      while (c !== 0) {
        if (c === 2 || Atomics.compareExchange(ctl, Q.LOCK, 1, 2) !== 0) {
          // Held for a copy at most: a short synchronous wait, bounded anyway.
          Atomics.wait(ctl, Q.LOCK, 2, 1);
        }
        c = Atomics.compareExchange(ctl, Q.LOCK, 0, 2);
      }
    }
    checkStop(() => this.unlock());
  }

  /** Releases the lock; an uncontended release needs no notify. */
  unlock(): void {
    const ctl = this.ctl;
    if (Atomics.sub(ctl, Q.LOCK, 1) !== 1) {
      Atomics.store(ctl, Q.LOCK, 0);
      Atomics.notify(ctl, Q.LOCK, 1);
    }
    leaveCritical();
  }

  /** `shift(textKind)` under the lock. */
  lockedShift(textKind: number): string | Uint8Array | undefined {
    this.lock();
    try {
      return this.shift(textKind);
    } finally {
      this.unlock();
    }
  }

  /** Appends a frame made of `parts` (call with the lock held). */
  push(parts: Uint8Array[]): void {
    let length = 0;
    for (const part of parts) length += part.length;
    let at = this.#reserve(length);
    const capacity = this.ctl[Q.CAPACITY];
    for (const part of parts) {
      this.#copyIn(at, part, capacity);
      at = (at + part.length) % capacity;
    }
    this.#publish(length);
  }

  /**
   * Appends a frame of one `kind` byte and `text` (call with the lock held).
   * Short ASCII text, the common case, is written straight into the ring.
   */
  pushText(kind: number, text: string): void {
    if (text.length < SHORT_TEXT) {
      const length = 1 + text.length;
      const at = this.#reserve(length);
      const capacity = this.ctl[Q.CAPACITY];
      const bytes = this.#bytes;
      bytes[at] = kind;
      let ascii = true;
      for (let i = 0, p = (at + 1) % capacity; i < text.length; i++, p = (p + 1) % capacity) {
        const c = text.charCodeAt(i);
        if (c > 0x7f) {
          ascii = false;
          break;
        }
        bytes[p] = c;
      }
      if (ascii) return this.#publish(length);
    }
    const utf8 = encoder.encode(text);
    this.push([new Uint8Array([kind]), utf8]);
  }

  /**
   * Removes the oldest frame (call with the lock held): a short ASCII text
   * frame of kind `textKind` comes back as its text, any other as its bytes.
   */
  shift(textKind = -1): string | Uint8Array | undefined {
    const ctl = this.ctl;
    if (ctl[Q.COUNT] === 0) return undefined;
    const capacity = ctl[Q.CAPACITY];
    const head = ctl[Q.HEAD];
    const length = this.#words[head >> 2];
    const at = (head + 4) % capacity;
    let frame: string | Uint8Array | undefined;
    if (length <= SHORT_TEXT && this.#bytes[at] === textKind) {
      frame = this.#readAscii((at + 1) % capacity, length - 1, capacity);
    }
    frame ??= this.#copyOut(at, length, capacity);
    const size = 4 + align(length);
    ctl[Q.COUNT] -= 1;
    ctl[Q.USED] -= size;
    ctl[Q.HEAD] = (head + size) % capacity;
    return frame;
  }

  /** Puts a frame (as `shift` returned it, in bytes) back at the front (lock held). */
  unshift(frame: Uint8Array): void {
    const ctl = this.ctl;
    const size = 4 + align(frame.length);
    let capacity = ctl[Q.CAPACITY];
    const used = ctl[Q.USED];
    if (used + size > capacity) capacity = this.#grow(used + size);
    const head = (ctl[Q.HEAD] - size + capacity) % capacity;
    this.#words[head >> 2] = frame.length;
    this.#copyIn((head + 4) % capacity, frame, capacity);
    ctl[Q.USED] = used + size;
    ctl[Q.COUNT] += 1;
    ctl[Q.HEAD] = head;
  }

  /** Makes room for a frame of `length` bytes; returns where its bytes go. */
  #reserve(length: number): number {
    const ctl = this.ctl;
    const size = 4 + align(length);
    let capacity = ctl[Q.CAPACITY];
    if (ctl[Q.USED] + size > capacity) {
      capacity = this.#grow(ctl[Q.USED] + size);
    }
    const tail = ctl[Q.TAIL];
    this.#words[tail >> 2] = length;
    return (tail + 4) % capacity;
  }

  /** Publishes the reserved frame: the final store makes it visible. */
  #publish(length: number): void {
    const ctl = this.ctl;
    const size = 4 + align(length);
    const capacity = ctl[Q.CAPACITY];
    ctl[Q.USED] += size;
    ctl[Q.COUNT] += 1;
    ctl[Q.TAIL] = (ctl[Q.TAIL] + size) % capacity;
  }

  /** Reads short text byte by byte; undefined if it is not ASCII. */
  #readAscii(at: number, length: number, capacity: number): string | undefined {
    const bytes = this.#bytes;
    let text = "";
    for (let i = 0, p = at; i < length; i++, p = (p + 1) % capacity) {
      const c = bytes[p];
      if (c > 0x7f) return undefined;
      text += String.fromCharCode(c);
    }
    return text;
  }

  /** Doubles the ring until `need` bytes fit, keeping the frames in order. */
  #grow(need: number): number {
    const ctl = this.ctl;
    const old = ctl[Q.CAPACITY];
    let capacity = old;
    while (capacity < need) capacity *= 2;
    if (capacity > MAX_BYTES) {
      throw new RangeError(`Cannot grow the queue past ${MAX_BYTES} bytes`);
    }
    if (this.#data.byteLength < capacity) this.#data.grow(capacity);
    const head = ctl[Q.HEAD];
    const tail = ctl[Q.TAIL];
    const used = ctl[Q.USED];
    if (used > 0 && tail <= head) {
      // The frames wrap: move the part at the start to just past the old end.
      this.#bytes.copyWithin(old, 0, tail);
      ctl[Q.TAIL] = old + tail;
    } else if (used === 0) {
      ctl[Q.HEAD] = 0;
      ctl[Q.TAIL] = 0;
    }
    ctl[Q.CAPACITY] = capacity;
    return capacity;
  }

  #copyIn(at: number, src: Uint8Array, capacity: number): void {
    const first = Math.min(src.length, capacity - at);
    this.#bytes.set(first === src.length ? src : src.subarray(0, first), at);
    if (first < src.length) this.#bytes.set(src.subarray(first), 0);
  }

  /** Copies out (TextDecoder and typed-array users need unshared memory). */
  #copyOut(at: number, length: number, capacity: number): Uint8Array {
    const out = new Uint8Array(length);
    const first = Math.min(length, capacity - at);
    out.set(this.#bytes.subarray(at, at + first));
    if (first < length) out.set(this.#bytes.subarray(0, length - first), first);
    return out;
  }
}

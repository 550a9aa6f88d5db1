// A multi-producer, multi-consumer queue of byte frames in shared memory: the
// storage under Queue, JoinableQueue, SimpleQueue and Pipe.
//
// Design: Michael and Scott's two-lock queue over a byte ring. Producers take
// PUT_LOCK and own TAIL; consumers take GET_LOCK and own HEAD; so one producer
// and one consumer never wait for each other, and the producer's and the
// consumer's fields sit on different cache lines. The ring is a growable
// SharedArrayBuffer that doubles when a frame does not fit (items of 64 MiB and
// more fit); growing takes both locks, always in the order PUT, GET.
//
// Frames start on 4-byte boundaries: [u32 length][bytes], padded. The ring is
// never filled completely, so HEAD == TAIL means empty.
//
// Publication: a producer writes the frame and moves TAIL, then counts it in
// PUTS (seq-cst: this store publishes); a consumer reads PUTS (more puts than
// gets: a frame is there), copies the frame out, then stores HEAD, then counts
// it in GETS. TAIL is read only under PUT_LOCK, so plain accesses do. A
// copy is never visible half-written, and a consumer stopped before its HEAD
// store loses nothing. Workers are never terminated inside these sections
// anyway (see the guard in _context.ts). Each side reads the other's word
// only when its last copy of it says full or empty (see the fields below).

import { enterCritical, leaveCritical, stopError, stopRequested } from "./_context.ts";
import {
  type Frame,
  PLAIN,
  type QueueItem,
  readTaggedFrame,
  TAGGED,
  toFrame,
} from "./_item_codec.ts";

/** Field indices of a byte queue's control block (three 64-byte cache lines). */
export const Q = {
  PUT_LOCK: 0,
  /** Ring offset where the next frame goes (producers). */
  TAIL: 1,
  /** Frames ever put (producers). */
  PUTS: 2,
  /** The sequence word getters sleep on (see _wait.ts). */
  PUT_SEQ: 3,
  /** Bumped when HEAD moves other than forward (grow, unshift): producers drop their copy of it. */
  EPOCH: 4,
  GET_LOCK: 16,
  /** Ring offset of the oldest frame (consumers). */
  HEAD: 17,
  /** Frames ever got (consumers). */
  GETS: 18,
  /** The sequence word putters sleep on (see _wait.ts). */
  GET_SEQ: 19,
  /** Ring capacity in bytes (the data buffer's current length). */
  CAPACITY: 32,
  /** 1 once closed. */
  CLOSED: 33,
  /** JoinableQueue: items put and not yet marked done. */
  UNFINISHED: 35,
  /** Pipe: 1 once every handle of the reading end is closed. */
  READER_CLOSED: 36,
  FIELDS: 48,
} as const;

const INITIAL_BYTES = 64 * 1024;
// Virtual reservation; memory is committed as the ring grows. Offsets live in
// Int32 fields and wrap with a mask, so the capacity stays a power of two <= 2^30.
const MAX_BYTES = 2 ** 30;
/** Frames up to this many bytes take the no-allocation text paths. */
const SHORT_TEXT = 256;
/** Tagged frames over this many bytes are copied out part by part (no whole-frame copy). */
const SPLIT_FRAME = 64 * 1024;
const encoder = new TextEncoder();

function align(length: number): number {
  return (length + 3) & ~3;
}

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
  // Each side keeps its last look at the other side's position, and looks
  // again only when that copy says full (producer) or empty (consumer):
  // reading a word the other core keeps writing costs a cache miss per frame.
  // A stale HEAD only overstates what is used; a stale PUTS only understates
  // what is there. Either way the answer errs on the safe side.
  #headSeen = 0;
  #epochSeen = -1;
  /** PUTS when this producer last put or looked: another producer's put voids the HEAD copy. */
  #putsMine = -1;
  #putsSeen = 0;
  /** Where the frame after the one `#frameAt` read starts. */
  #next = 0;

  /** Creates a queue, or attaches to an existing one's `state`. */
  constructor(state?: ByteQueueState) {
    this.state = state ?? {
      ctl: new SharedArrayBuffer(Q.FIELDS * 4),
      data: new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES }),
    };
    this.ctl = new Int32Array(this.state.ctl);
    this.#data = this.state.data;
    if (!state) Atomics.store(this.ctl, Q.CAPACITY, INITIAL_BYTES);
    this.#bytes = new Uint8Array(0);
    this.#words = new Int32Array(0);
    this.#sync(Atomics.load(this.ctl, Q.CAPACITY));
  }

  /**
   * Fits the views to the ring's capacity (called with a lock held, after
   * reading it). Fixed-length views are faster than length-tracking ones, and
   * any thread may have grown the buffer since this one last looked.
   */
  #sync(capacity: number): void {
    if (this.#bytes.length === capacity) return;
    this.#bytes = new Uint8Array(this.#data, 0, capacity);
    this.#words = new Int32Array(this.#data, 0, capacity >> 2);
  }

  /** Frames in the queue (a snapshot). */
  count(): number {
    return (Atomics.load(this.ctl, Q.PUTS) - Atomics.load(this.ctl, Q.GETS)) | 0;
  }

  /** Takes lock `index` (a futex mutex, Drepper's: 0 free, 1 held, 2 held with waiters). */
  lock(index: number): void {
    enterCritical();
    const ctl = this.ctl;
    let c = Atomics.compareExchange(ctl, index, 0, 1);
    if (c !== 0) {
      // Spin first: the holder only copies a frame, so it is usually done
      // long before a futex sleep and wake-up would be.
      for (let spins = 0; spins < 200 && c !== 0; spins++) {
        c = Atomics.load(ctl, index) === 0 ? Atomics.compareExchange(ctl, index, 0, 1) : 1;
      }
      while (c !== 0) {
        if (c === 2 || Atomics.compareExchange(ctl, index, 1, 2) !== 0) {
          // Held for a copy at most: a short synchronous wait, bounded anyway.
          Atomics.wait(ctl, index, 2, 1);
        }
        c = Atomics.compareExchange(ctl, index, 0, 2);
      }
    }
    if (stopRequested()) {
      this.unlock(index);
      throw stopError();
    }
  }

  /** Releases lock `index`; an uncontended release needs no notify. */
  unlock(index: number): void {
    const ctl = this.ctl;
    if (Atomics.sub(ctl, index, 1) !== 1) {
      Atomics.store(ctl, index, 0);
      Atomics.notify(ctl, index, 1);
    }
    leaveCritical();
  }

  /**
   * Appends a frame made of `parts` unless the queue holds `limit` frames or
   * more (0: no limit). Returns whether it was put; `onPut` runs under the lock.
   */
  push(parts: Uint8Array[], limit = 0, onPut?: () => void): boolean {
    this.lock(Q.PUT_LOCK);
    try {
      if (limit > 0 && this.count() >= limit) return false;
      let length = 0;
      for (const part of parts) length += part.length;
      let at = this.#reserve(length);
      const capacity = this.ctl[Q.CAPACITY];
      for (const part of parts) {
        this.#copyIn(at, part, capacity);
        at = (at + part.length) & (capacity - 1);
      }
      this.#publish(length);
      onPut?.();
      return true;
    } finally {
      this.unlock(Q.PUT_LOCK);
    }
  }

  /**
   * Appends a frame of one `kind` byte and `text`, like {@linkcode push}.
   * Short ASCII text, the common case, is written straight into the ring.
   */
  pushText(kind: number, text: string, limit = 0, onPut?: () => void): boolean {
    if (text.length < SHORT_TEXT) {
      this.lock(Q.PUT_LOCK);
      try {
        if (limit > 0 && this.count() >= limit) return false;
        const length = 1 + text.length;
        const at = this.#reserve(length);
        const capacity = this.ctl[Q.CAPACITY];
        const bytes = this.#bytes;
        bytes[at] = kind;
        let ascii = true;
        for (
          let i = 0, p = (at + 1) & (capacity - 1);
          i < text.length;
          i++, p = (p + 1) & (capacity - 1)
        ) {
          const c = text.charCodeAt(i);
          if (c > 0x7f) {
            ascii = false;
            break;
          }
          bytes[p] = c;
        }
        if (ascii) {
          this.#publish(length);
          onPut?.();
          return true;
        }
      } finally {
        this.unlock(Q.PUT_LOCK);
      }
    }
    return this.push([new Uint8Array([kind]), encoder.encode(text)], limit, onPut);
  }

  /**
   * Appends an item of encodeQueueItem() as a PLAIN or tagged frame, like
   * {@linkcode push}; the one way queues and pipes put items.
   */
  pushItem(item: QueueItem, limit = 0, onPut?: () => void): boolean {
    if (typeof item === "number") return this.pushInteger(PLAIN, item, limit, onPut);
    if (item.tagged) return this.push(toFrame(item), limit, onPut);
    return this.pushText(PLAIN, item.json, limit, onPut);
  }

  /**
   * Appends a frame of one `kind` byte and the decimal digits of `n` (a safe
   * integer), like {@linkcode pushText} of `String(n)` but without making the
   * string: number-to-string conversion was a tenth of a send's time.
   */
  pushInteger(kind: number, n: number, limit = 0, onPut?: () => void): boolean {
    const negative = n < 0;
    let magnitude = negative ? -n : n;
    let digits = 1;
    for (let rest = magnitude; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    const length = 1 + (negative ? 1 : 0) + digits;
    this.lock(Q.PUT_LOCK);
    try {
      if (limit > 0 && this.count() >= limit) return false;
      const at = this.#reserve(length);
      const mask = this.ctl[Q.CAPACITY] - 1;
      const bytes = this.#bytes;
      bytes[at] = kind;
      if (negative) bytes[(at + 1) & mask] = 45; // "-"
      // Digits from the last one back.
      for (let i = length - 1; i > length - 1 - digits; i--) {
        const next = Math.floor(magnitude / 10);
        bytes[(at + i) & mask] = 48 + (magnitude - next * 10);
        magnitude = next;
      }
      this.#publish(length);
      onPut?.();
      return true;
    } finally {
      this.unlock(Q.PUT_LOCK);
    }
  }

  /**
   * Removes the oldest frame: a short ASCII text frame of kind `textKind`
   * comes back as its text, any other as its bytes; undefined when empty.
   */
  shift(textKind = -1): Frame | undefined {
    // Cheap check first, without the lock.
    if (!this.#hasFrames(Atomics.load(this.ctl, Q.GETS))) return undefined;
    this.lock(Q.GET_LOCK);
    try {
      return this.#take(textKind);
    } finally {
      this.unlock(Q.GET_LOCK);
    }
  }

  /**
   * Moves up to `max` frames (as `shift` returns them) into `out[0]`,
   * `out[1]`, ... under one lock, publishing the new HEAD and GETS once for
   * all of them; returns how many. (Writing slots of a reused array, not
   * emptying and refilling it, spares the reallocations of regrowing it.)
   */
  shiftMany(textKind: number, max: number, out: (Frame | undefined)[]): number {
    if (!this.#hasFrames(Atomics.load(this.ctl, Q.GETS))) return 0;
    this.lock(Q.GET_LOCK);
    try {
      const ctl = this.ctl;
      const gets = ctl[Q.GETS];
      if (!this.#hasFrames(gets)) return 0;
      const count = Math.min(max, (this.#putsSeen - gets) | 0);
      const capacity = ctl[Q.CAPACITY];
      this.#sync(capacity);
      let head = ctl[Q.HEAD];
      for (let i = 0; i < count; i++) {
        out[i] = this.#frameAt(head, textKind, capacity);
        head = this.#next;
      }
      Atomics.store(ctl, Q.HEAD, head);
      Atomics.store(ctl, Q.GETS, gets + count);
      return count;
    } finally {
      this.unlock(Q.GET_LOCK);
    }
  }

  /** Removes the oldest frame (GET_LOCK held). */
  #take(textKind: number): Frame | undefined {
    const ctl = this.ctl;
    // GETS and HEAD change only under GET_LOCK: plain reads do.
    const gets = ctl[Q.GETS];
    if (!this.#hasFrames(gets)) return undefined;
    const capacity = ctl[Q.CAPACITY];
    this.#sync(capacity);
    const frame = this.#frameAt(ctl[Q.HEAD], textKind, capacity);
    Atomics.store(ctl, Q.HEAD, this.#next);
    Atomics.store(ctl, Q.GETS, gets + 1);
    return frame;
  }

  /** Reads the frame at `head` (GET_LOCK held, views synced); sets `#next`. */
  #frameAt(head: number, textKind: number, capacity: number): Frame {
    const length = this.#words[head >> 2];
    const at = (head + 4) & (capacity - 1);
    let frame: Frame | undefined;
    if (length <= SHORT_TEXT && this.#bytes[at] === textKind) {
      frame = this.#readAscii((at + 1) & (capacity - 1), length - 1, capacity);
    } else if (length > SPLIT_FRAME && this.#bytes[at] === TAGGED) {
      frame = readTaggedFrame((offset, size) =>
        this.#copyOut((at + offset) & (capacity - 1), size, capacity)
      );
    }
    this.#next = (head + 4 + align(length)) & (capacity - 1);
    return frame ?? this.#copyOut(at, length, capacity);
  }

  /**
   * Whether a frame is there to take, given GETS: PUTS counts a frame after
   * it is written, so more puts seen than gets means one is published. Exact
   * under GET_LOCK; a hint without it.
   */
  #hasFrames(gets: number): boolean {
    // Differences of int32 counters, so that wrapping past 2^31 frames is harmless.
    if (((this.#putsSeen - gets) | 0) > 0) return true;
    this.#putsSeen = Atomics.load(this.ctl, Q.PUTS);
    return ((this.#putsSeen - gets) | 0) > 0;
  }

  /** Puts a frame (as `shift` returned it, in bytes) back at the front. */
  unshift(frame: Uint8Array): void {
    // Both locks, in the order PUT, GET: the ring may have to grow.
    this.lock(Q.PUT_LOCK);
    this.lock(Q.GET_LOCK);
    try {
      const ctl = this.ctl;
      const size = 4 + align(frame.length);
      let capacity = ctl[Q.CAPACITY];
      if (this.#used(capacity) + size >= capacity) capacity = this.#grow(size);
      this.#sync(capacity);
      const head = (ctl[Q.HEAD] - size) & (capacity - 1);
      this.#words[head >> 2] = frame.length;
      this.#copyIn((head + 4) & (capacity - 1), frame, capacity);
      Atomics.store(ctl, Q.HEAD, head);
      Atomics.store(ctl, Q.GETS, ctl[Q.GETS] - 1);
      Atomics.add(ctl, Q.EPOCH, 1);
    } finally {
      this.unlock(Q.GET_LOCK);
      this.unlock(Q.PUT_LOCK);
    }
  }

  /**
   * Bytes used as far as this producer's copy of HEAD knows (PUT_LOCK held);
   * at least the truth. The copy is good while only this producer has put
   * since it was taken: its own puts never pass it by a whole ring, but
   * another producer's may have, leaving the copy inside the used bytes.
   */
  #usedSeen(capacity: number): number {
    const ctl = this.ctl;
    if (ctl[Q.EPOCH] !== this.#epochSeen || ctl[Q.PUTS] !== this.#putsMine) return capacity;
    return (ctl[Q.TAIL] - this.#headSeen) & (capacity - 1);
  }

  #used(capacity: number): number {
    return (this.ctl[Q.TAIL] - Atomics.load(this.ctl, Q.HEAD)) & (capacity - 1);
  }

  /** Makes room for a frame of `length` bytes (PUT_LOCK held); returns where its bytes go. */
  #reserve(length: number): number {
    const ctl = this.ctl;
    const size = 4 + align(length);
    let capacity = ctl[Q.CAPACITY];
    if (this.#usedSeen(capacity) + size >= capacity) {
      this.#headSeen = Atomics.load(ctl, Q.HEAD);
      this.#epochSeen = ctl[Q.EPOCH];
      this.#putsMine = ctl[Q.PUTS];
      if (this.#usedSeen(capacity) + size >= capacity) {
        this.lock(Q.GET_LOCK);
        try {
          capacity = this.#grow(size);
          // Consumers may have made room instead (grow then returns at once):
          // either way, look again, or the copy of HEAD would be behind the
          // space this frame is about to use.
          this.#headSeen = ctl[Q.HEAD];
          this.#epochSeen = ctl[Q.EPOCH];
          this.#putsMine = ctl[Q.PUTS];
        } finally {
          this.unlock(Q.GET_LOCK);
        }
      }
    }
    this.#sync(capacity);
    const tail = ctl[Q.TAIL];
    this.#words[tail >> 2] = length;
    return (tail + 4) & (capacity - 1);
  }

  /** Publishes the reserved frame: the TAIL store makes it visible. */
  #publish(length: number): void {
    const ctl = this.ctl;
    const capacity = ctl[Q.CAPACITY];
    ctl[Q.TAIL] = (ctl[Q.TAIL] + 4 + align(length)) & (capacity - 1); // read only under PUT_LOCK
    const puts = (ctl[Q.PUTS] + 1) | 0;
    Atomics.store(ctl, Q.PUTS, puts);
    this.#putsMine = puts;
  }

  /** Doubles the ring until `size` more bytes fit, keeping the frames in order (both locks held). */
  #grow(size: number): number {
    const ctl = this.ctl;
    const old = ctl[Q.CAPACITY];
    // Consumers may have freed room since the caller looked: check again.
    const used = this.#used(old);
    if (used + size < old) return old;
    let capacity = old;
    while (used + size >= capacity) capacity *= 2;
    if (capacity > MAX_BYTES) {
      throw new RangeError(
        `Cannot put an item of ${size} bytes: a queue or pipe holds at most ${MAX_BYTES} bytes ` +
          `(1 GiB) at once, and ${used} are in use; send large data in parts`,
      );
    }
    if (this.#data.byteLength < capacity) this.#data.grow(capacity);
    this.#sync(capacity);
    const head = ctl[Q.HEAD];
    const tail = ctl[Q.TAIL];
    if (used > 0 && tail < head) {
      // The frames wrap: move the part at the start to just past the old end.
      this.#bytes.copyWithin(old, 0, tail);
      Atomics.store(ctl, Q.TAIL, old + tail);
    } else if (used === 0) {
      Atomics.store(ctl, Q.HEAD, 0);
      Atomics.store(ctl, Q.TAIL, 0);
    }
    Atomics.store(ctl, Q.CAPACITY, capacity);
    Atomics.add(ctl, Q.EPOCH, 1);
    return capacity;
  }

  /**
   * Reads short text; undefined if it is not ASCII. An integer
   * of up to 15 digits (the commonest small message) comes back as a number,
   * without making a string: its JSON text is its decimal digits.
   */
  #readAscii(at: number, length: number, capacity: number): string | number | undefined {
    const bytes = this.#bytes;
    if (length <= 16) {
      let p = at;
      let i = 0;
      const negative = bytes[p] === 45; // "-"
      if (negative) {
        i = 1;
        p = (p + 1) & (capacity - 1);
      }
      let n = 0;
      for (; i < length; i++, p = (p + 1) & (capacity - 1)) {
        const c = bytes[p] - 48;
        if (c < 0 || c > 9) break;
        n = n * 10 + c;
      }
      const digits = negative ? length - 1 : length;
      if (i === length && digits > 0 && digits <= 15) return negative ? -n : n;
    }
    if (at + length <= capacity) {
      // Unwrapped (the usual case): check, then make the string in one call;
      // a string built a character at a time is a rope that JSON.parse must
      // flatten first, ~1.5x slower overall.
      const end = at + length;
      for (let p = at; p < end; p++) if (bytes[p] > 0x7f) return undefined;
      return String.fromCharCode.apply(null, bytes.subarray(at, end) as unknown as number[]);
    }
    let text = "";
    for (let i = 0, p = at; i < length; i++, p = (p + 1) & (capacity - 1)) {
      const c = bytes[p];
      if (c > 0x7f) return undefined;
      text += String.fromCharCode(c);
    }
    return text;
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

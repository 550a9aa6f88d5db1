// A single-producer, single-consumer byte ring in a SharedArrayBuffer. Each
// frame is a 4-byte length followed by UTF-8 JSON text. Positions are
// free-running 32-bit byte counters (wrapping arithmetic), so `head - tail`
// is always the number of unread bytes and no slot is wasted.
//
// Invariant: only the producer writes HEAD and only the consumer writes TAIL.
// The producer publishes a frame by storing HEAD after the bytes are written
// (Atomics.store is sequentially consistent), so a consumer that sees the new
// HEAD also sees the bytes.

import { RING } from "./_protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One direction of a worker's shared-memory channel. */
export class Ring {
  readonly buffer: SharedArrayBuffer;
  #ctl: Int32Array;
  #bytes: Uint8Array;
  #mask: number;
  #capacity: number;

  /** Creates a ring with `capacity` bytes (a power of two), or attaches to `buffer`. */
  constructor(capacityOrBuffer: number | SharedArrayBuffer) {
    this.buffer = typeof capacityOrBuffer === "number"
      ? new SharedArrayBuffer(RING.HEADER_BYTES + capacityOrBuffer)
      : capacityOrBuffer;
    this.#ctl = new Int32Array(this.buffer, 0, RING.HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(this.buffer, RING.HEADER_BYTES);
    this.#capacity = this.#bytes.length;
    this.#mask = this.#capacity - 1;
  }

  /** The counter the consumer waits on; bumped by `ring()`. */
  get bell(): Int32Array {
    return this.#ctl;
  }

  /** Appends one frame of JSON text; returns false (writing nothing) when it does not fit. */
  write(json: string): boolean {
    const data = encoder.encode(json);
    const need = 4 + data.length;
    const head = Atomics.load(this.#ctl, RING.HEAD);
    const tail = Atomics.load(this.#ctl, RING.TAIL);
    if (need > this.#capacity - ((head - tail) | 0)) return false;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, data.length, true);
    this.#copyIn(head, len);
    this.#copyIn(head + 4, data);
    Atomics.store(this.#ctl, RING.HEAD, (head + need) | 0);
    return true;
  }

  /** Wakes the consumer if it waits (call after one or more writes). */
  ring(): void {
    Atomics.add(this.#ctl, RING.BELL, 1);
    Atomics.notify(this.#ctl, RING.BELL);
  }

  /** Removes and returns the oldest frame's JSON text, or undefined when empty. */
  read(): string | undefined {
    const tail = Atomics.load(this.#ctl, RING.TAIL);
    const head = Atomics.load(this.#ctl, RING.HEAD);
    if (head === tail) return undefined;
    const len = new DataView(this.#copyOut(tail, 4).buffer).getUint32(0, true);
    const text = decoder.decode(this.#copyOut(tail + 4, len));
    Atomics.store(this.#ctl, RING.TAIL, (tail + 4 + len) | 0);
    return text;
  }

  /** Whether a frame is waiting. */
  hasData(): boolean {
    return Atomics.load(this.#ctl, RING.HEAD) !== Atomics.load(this.#ctl, RING.TAIL);
  }

  #copyIn(pos: number, src: Uint8Array): void {
    const at = pos & this.#mask;
    const first = Math.min(src.length, this.#capacity - at);
    this.#bytes.set(src.subarray(0, first), at);
    if (first < src.length) this.#bytes.set(src.subarray(first), 0);
  }

  #copyOut(pos: number, length: number): Uint8Array {
    // TextDecoder refuses views of shared memory, so the frame is copied out.
    const out = new Uint8Array(length);
    const at = pos & this.#mask;
    const first = Math.min(length, this.#capacity - at);
    out.set(this.#bytes.subarray(at, at + first));
    if (first < length) out.set(this.#bytes.subarray(0, length - first), first);
    return out;
  }
}

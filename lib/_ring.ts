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
  #headerBytes = new Uint8Array(4);
  #header = new DataView(this.#headerBytes.buffer);
  #scratch = new Uint8Array(4096);

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
    const head = Atomics.load(this.#ctl, RING.HEAD);
    const free = this.#capacity - ((head - Atomics.load(this.#ctl, RING.TAIL)) | 0);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; most frames fit straight
    // into the ring, and only frames that wrap go through a scratch copy.
    const at = (head + 4) & this.#mask;
    let length: number;
    if (4 + json.length * 3 <= free && at + json.length * 3 <= this.#capacity) {
      length = encoder.encodeInto(json, this.#bytes.subarray(at)).written;
    } else {
      const data = encoder.encode(json);
      if (4 + data.length > free) return false;
      this.#copyIn(head + 4, data);
      length = data.length;
    }
    this.#header.setUint32(0, length, true);
    this.#copyIn(head, this.#headerBytes);
    Atomics.store(this.#ctl, RING.HEAD, (head + 4 + length) | 0);
    return true;
  }

  /** Wakes the consumer if it sleeps (call after one or more writes). */
  ring(): void {
    Atomics.add(this.#ctl, RING.BELL, 1);
    // Seq-cst: if the consumer's SLEEPING=1 is not visible yet, its wait on
    // BELL starts after the add above and returns at once.
    if (Atomics.load(this.#ctl, RING.SLEEPING) !== 0) Atomics.notify(this.#ctl, RING.BELL);
  }

  /** Removes and returns the oldest frame's JSON text, or undefined when empty. */
  read(): string | undefined {
    const tail = Atomics.load(this.#ctl, RING.TAIL);
    const head = Atomics.load(this.#ctl, RING.HEAD);
    if (head === tail) return undefined;
    this.#copyOut(tail, 4, this.#headerBytes);
    const length = this.#header.getUint32(0, true);
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length * 2);
    const text = decoder.decode(this.#copyOut(tail + 4, length, this.#scratch));
    Atomics.store(this.#ctl, RING.TAIL, (tail + 4 + length) | 0);
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

  /** Copies `length` bytes at `pos` into `out` (TextDecoder refuses views of shared memory). */
  #copyOut(pos: number, length: number, out: Uint8Array): Uint8Array {
    const at = pos & this.#mask;
    const first = Math.min(length, this.#capacity - at);
    out.set(this.#bytes.subarray(at, at + first));
    if (first < length) out.set(this.#bytes.subarray(0, length - first), first);
    return out.subarray(0, length);
  }
}

// Named shared memory for every thread of the program. A SharedArrayBuffer
// only reaches another thread through postMessage, so a worker could not
// attach to a segment by its name alone, synchronously, if each segment had
// a buffer of its own. Instead every segment lives in the program's shared
// block (threadContext().counters, which each thread has from its start and
// which grows in place), with a directory of names at its head:
//
//   [0, 8)            the program's counters (_context.ts)
//   [8, 12)           Int32 lock of the directory
//   [16, 24)          Float64 top: the end of the bytes handed out so far
//   [DIR, DATA)       MAX_SEGMENTS entries of ENTRY bytes
//   [DATA, ...)       the segments' bytes, 64-byte aligned
//
// An entry (128 bytes): Int32 state (FREE, NAMED, or UNLINKED while handles remain),
// Int32 open handles, Float64 offset, size and capacity, then the name (a
// length byte and up to NAME_MAX bytes of UTF-8). A segment's bytes are
// reused once it is unlinked and its last handle closed, as an OS frees a
// shared-memory object once unlinked and unmapped.
//
// Entries and bytes are apart: a freed entry takes a segment of any size, and
// the bytes of a new segment are the best-fitting gap between the live
// segments (NAMED or UNLINKED), else the end of the last one (the block grows
// as needed). A segment takes only the bytes it needs from a gap, and only
// those are zeroed: a small segment neither takes nor clears a big freed one.

import {
  enterCritical,
  leaveCritical,
  stopError,
  stopRequested,
  threadContext,
} from "./_context.ts";

const LOCK = 2; // Int32 index of the lock
const TOP = 2; // Float64 index of top
const DIR = 64;
const ENTRY = 128;
export const MAX_SEGMENTS = 1024;
export const NAME_MAX = 64;
const DATA = DIR + MAX_SEGMENTS * ENTRY;
const ALIGN = 64;

const EMPTY = 0; // never used
const NAMED = 1;
const UNLINKED = 2;
const FREE = 3;

/** A segment's place in the block, as a handle holds it. */
export interface Segment {
  entry: number;
  offset: number;
  size: number;
}

const encoder = new TextEncoder();

function block(): SharedArrayBuffer {
  return threadContext().counters;
}

/** Runs `fn` holding the directory's lock (the block grown to hold the directory). */
function locked<T>(fn: (block: SharedArrayBuffer) => T): T {
  const sab = block();
  if (sab.byteLength < DATA) {
    if (!sab.growable || sab.maxByteLength < DATA + ALIGN) {
      throw new Error(
        "Cannot use named shared memory: this system refused to reserve address space for it",
      );
    }
    // Growing is atomic; a thread that grew it first leaves nothing to do.
    try {
      sab.grow(DATA);
    } catch {
      // Grown by another thread meanwhile.
    }
  }
  const words = new Int32Array(sab, 0, 4);
  enterCritical();
  for (let spins = 0; Atomics.compareExchange(words, LOCK, 0, 1) !== 0; spins++) {
    if (spins > 100) Atomics.wait(words, LOCK, 1, 1);
  }
  try {
    if (stopRequested()) throw stopError();
    return fn(sab);
  } finally {
    Atomics.store(words, LOCK, 0);
    Atomics.notify(words, LOCK, 1);
    leaveCritical();
  }
}

function entryView(sab: SharedArrayBuffer, entry: number) {
  const at = DIR + entry * ENTRY;
  return {
    ints: new Int32Array(sab, at, 2),
    numbers: new Float64Array(sab, at + 8, 3),
    name: new Uint8Array(sab, at + 32, 1 + NAME_MAX),
  };
}

function nameMatches(stored: Uint8Array, name: Uint8Array): boolean {
  if (stored[0] !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (stored[1 + i] !== name[i]) return false;
  return true;
}

function find(sab: SharedArrayBuffer, name: Uint8Array): number {
  for (let entry = 0; entry < MAX_SEGMENTS; entry++) {
    const view = entryView(sab, entry);
    if (view.ints[0] === EMPTY) return -1; // entries are used in order
    if (view.ints[0] === NAMED && nameMatches(view.name, name)) return entry;
  }
  return -1;
}

/** The UTF-8 of a name, checked. */
export function nameBytes(name: string, action: string): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length === 0 || bytes.length > NAME_MAX) {
    throw new RangeError(
      `Cannot ${action}: a name has 1 to ${NAME_MAX} bytes of UTF-8, received ${
        JSON.stringify(name)
      }`,
    );
  }
  return bytes;
}

/**
 * Where a segment of `capacity` bytes goes: the smallest gap between the live
 * segments that holds it (the lowest of equal ones), else the end of the last.
 */
function place(sab: SharedArrayBuffer, capacity: number): number {
  const live: [offset: number, end: number][] = [];
  for (let entry = 0; entry < MAX_SEGMENTS; entry++) {
    const view = entryView(sab, entry);
    const state = view.ints[0];
    if (state === EMPTY) break; // entries are used in order
    if (state === NAMED || state === UNLINKED) {
      live.push([view.numbers[0], view.numbers[0] + view.numbers[2]]);
    }
  }
  live.sort((a, b) => a[0] - b[0]);
  let best = -1;
  let bestRoom = Infinity;
  let at = DATA;
  for (const [offset, end] of live) {
    const room = offset - at;
    if (room >= capacity && room < bestRoom) {
      best = at;
      bestRoom = room;
    }
    at = Math.max(at, end);
  }
  return best >= 0 ? best : at;
}

/**
 * Creates a segment of `size` zeroed bytes named `name`, with one handle.
 *
 * @throws {Error} When the name is taken, MAX_SEGMENTS segments exist, or the block cannot
 *   hold it.
 */
export function createSegment(name: string, size: number): Segment {
  const bytes = nameBytes(name, "create shared memory");
  return locked((sab) => {
    if (find(sab, bytes) >= 0) {
      throw new Error(
        `Cannot create shared memory '${name}': the name is taken (attach to it with ` +
          "create: false, or unlink it first)",
      );
    }
    // The first entry that is free (whatever the size it had) or never used.
    let chosen = -1;
    for (let entry = 0; entry < MAX_SEGMENTS; entry++) {
      const state = entryView(sab, entry).ints[0];
      if (state === FREE || state === EMPTY) {
        chosen = entry;
        break;
      }
    }
    if (chosen < 0) {
      throw new Error(
        `Cannot create shared memory '${name}': ${MAX_SEGMENTS} blocks exist at once ` +
          "(unlink some, and close their handles)",
      );
    }
    const capacity = Math.ceil(Math.max(size, 1) / ALIGN) * ALIGN;
    const offset = place(sab, capacity);
    const end = offset + capacity;
    if (end > sab.maxByteLength) {
      throw new Error(
        `Cannot create shared memory '${name}': ${size} bytes more do not fit in the ` +
          `program's reservation of ${sab.maxByteLength} bytes`,
      );
    }
    // Bytes below top may hold a freed segment's data; those past it were never handed
    // out, and are zero.
    const numbers = new Float64Array(sab, 0, 3);
    const dirtyEnd = Math.min(end, numbers[TOP]);
    if (dirtyEnd > offset) new Uint8Array(sab, offset, dirtyEnd - offset).fill(0);
    if (end > sab.byteLength) sab.grow(end);
    numbers[TOP] = Math.max(numbers[TOP], end);
    const view = entryView(sab, chosen);
    view.numbers[0] = offset;
    view.numbers[1] = size;
    view.numbers[2] = capacity;
    view.name[0] = bytes.length;
    view.name.set(bytes, 1);
    view.ints[1] = 1;
    Atomics.store(view.ints, 0, NAMED);
    return { entry: chosen, offset, size };
  });
}

/**
 * Attaches to the segment named `name` (one more handle).
 *
 * @throws {Error} When no segment has that name.
 */
export function attachSegment(name: string): Segment {
  const bytes = nameBytes(name, "attach to shared memory");
  return locked((sab) => {
    const entry = find(sab, bytes);
    if (entry < 0) {
      throw new Error(
        `Cannot attach to shared memory '${name}': no segment has that name (was it unlinked?)`,
      );
    }
    const view = entryView(sab, entry);
    view.ints[1]++;
    return { entry, offset: view.numbers[0], size: view.numbers[1] };
  });
}

/** Whether a segment named `name` exists. */
export function segmentExists(name: string): boolean {
  const bytes = nameBytes(name, "look up shared memory");
  if (block().byteLength < DATA) return false;
  return locked((sab) => find(sab, bytes) >= 0);
}

/** Closes one handle; the bytes are reused once the segment is unlinked and unused. */
export function closeSegment(segment: Segment): void {
  locked((sab) => {
    const view = entryView(sab, segment.entry);
    view.ints[1]--;
    if (view.ints[1] <= 0 && view.ints[0] === UNLINKED) Atomics.store(view.ints, 0, FREE);
  });
}

/**
 * Removes the name; the bytes stay while handles are open.
 *
 * @throws {Error} When no segment has that name any more.
 */
export function unlinkSegment(name: string): void {
  const bytes = nameBytes(name, "unlink shared memory");
  locked((sab) => {
    const entry = find(sab, bytes);
    if (entry < 0) {
      throw new Error(`Cannot unlink shared memory '${name}': no segment has that name`);
    }
    const view = entryView(sab, entry);
    Atomics.store(view.ints, 0, view.ints[1] > 0 ? UNLINKED : FREE);
  });
}

/** A segment's bytes, in this thread. */
export function segmentBytes(segment: Segment): Uint8Array {
  return new Uint8Array(block(), segment.offset, segment.size);
}

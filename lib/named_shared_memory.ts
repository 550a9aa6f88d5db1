/**
 * `SharedMemory` and `ShareableList`: Python's
 * `multiprocessing.shared_memory`, blocks of bytes that any thread of the
 * program creates or attaches to by name.
 *
 * They are shared by the threads of one program (its Pool workers and
 * Processes). Another OS process cannot attach to them: Deno has no shared
 * memory between processes without FFI.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemory } from "./named_shared_memory.ts";
 * using shm = new SharedMemory({ create: true, size: 4 });
 * shm.buf.set([1, 2, 3, 4]);
 * using other = new SharedMemory({ name: shm.name }); // from any thread
 * assert.deepEqual([...other.buf], [1, 2, 3, 4]);
 * shm.unlink();
 * ```
 *
 * @module
 */
import {
  attachSegment,
  closeSegment,
  createSegment,
  type Segment,
  segmentBytes,
  unlinkSegment,
} from "./_named_memory.ts";
import { checkOptions } from "./_options.ts";
import { describeValue } from "./_timeout.ts";

/**
 * Options of {@linkcode SharedMemory}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemory, type SharedMemoryOptions } from "./named_shared_memory.ts";
 * const options: SharedMemoryOptions = { name: "example_block", create: true, size: 16 };
 * using shm = new SharedMemory(options);
 * assert.equal(shm.name, "example_block");
 * shm.unlink();
 * ```
 */
export interface SharedMemoryOptions {
  /** The block's name: required to attach; made up (`psm_` and 8 hex digits) when creating without. */
  name?: string;
  /**
   * Create a new block (of `size` bytes) rather than attach to an existing one.
   * @default {false}
   */
  create?: boolean;
  /** The size of a new block in bytes, at least 1. Ignored when attaching. */
  size?: number;
}

function randomName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `psm_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A named block of bytes shared by every thread of the program (Python's
 * `multiprocessing.shared_memory.SharedMemory`).
 *
 * Each handle is closed on its own (`close()`); `unlink()` removes the name
 * once, and the bytes are reused after the last handle closes. Do not keep
 * views of `buf` past `close()`.
 *
 * @example Created here, attached to in a Process by name
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedMemory } from "./named_shared_memory.ts";
 * import { Process } from "./process.ts";
 * const tasks = "data:text/javascript," + encodeURIComponent(
 *   `import { SharedMemory } from "${new URL("./named_shared_memory.ts", import.meta.url)}";
 *    export function fill(name) { const shm = new SharedMemory({ name }); shm.buf.fill(7); shm.close(); }`,
 * );
 * const { fill } = await import(tasks);
 * const shm = new SharedMemory({ create: true, size: 3 });
 * const p = new Process({ target: fill, args: [shm.name], modules: [tasks] });
 * p.start();
 * await p.join();
 * assert.deepEqual([...shm.buf], [7, 7, 7]);
 * shm.close();
 * shm.unlink();
 * ```
 */
export class SharedMemory implements Disposable {
  #name: string;
  #segment: Segment;
  #buf: Uint8Array | null;

  /**
   * Creates a block, or attaches to one by name.
   *
   * @param options `name`, `create`, `size`.
   * @throws {TypeError} For options of the wrong type, or an unknown one.
   * @throws {RangeError} For a size below 1 when creating, or a name of more than 64 bytes.
   * @throws {Error} When creating under a name that is taken, or attaching to a name that
   *   does not exist.
   */
  constructor(options: SharedMemoryOptions = {}) {
    checkOptions(options, ["name", "create", "size"], "create shared memory");
    const { name, create = false, size } = options;
    if (name !== undefined && typeof name !== "string") {
      throw new TypeError(
        `Cannot create shared memory: 'name' must be a string, received ${describeValue(name)}`,
      );
    }
    if (create) {
      if (typeof size !== "number" || !Number.isInteger(size) || size < 1) {
        throw new RangeError(
          `Cannot create shared memory: 'size' must be an integer >= 1, received ${
            describeValue(size)
          }`,
        );
      }
      this.#name = name ?? randomName();
      this.#segment = createSegment(this.#name, size);
    } else {
      if (name === undefined) {
        throw new TypeError(
          "Cannot attach to shared memory: give its 'name' (or create: true for a new block)",
        );
      }
      this.#name = name;
      this.#segment = attachSegment(name);
    }
    this.#buf = segmentBytes(this.#segment);
  }

  /** The block's name. */
  get name(): string {
    return this.#name;
  }

  /** Its size in bytes. */
  get size(): number {
    return this.#segment.size;
  }

  /**
   * The bytes, shared with every thread that attached.
   *
   * @throws {Error} After `close()`.
   */
  get buf(): Uint8Array {
    if (!this.#buf) throw new Error(`Cannot read buf: shared memory '${this.#name}' is closed`);
    return this.#buf;
  }

  /** Closes this handle (Python's `close()`); closing twice does nothing. */
  close(): void {
    if (!this.#buf) return;
    this.#buf = null;
    closeSegment(this.#segment);
  }

  /**
   * Removes the name, so no thread can attach any more (Python's `unlink()`).
   * Handles still open keep their bytes until they close.
   *
   * @throws {Error} When the name was unlinked already.
   */
  unlink(): void {
    unlinkSegment(this.#name);
  }

  /** `using shm = ...`: closes this handle. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- ShareableList ----

/**
 * What a {@linkcode ShareableList} holds: numbers (float64), bigints
 * (int64), booleans, strings and bytes (up to the room of their slot), null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ShareableList, type ShareableItem } from "./named_shared_memory.ts";
 * const items: ShareableItem[] = [1, 2.5, 3n, true, "text", new Uint8Array([1]), null];
 * const sl = new ShareableList(items);
 * assert.equal(sl.length, 7);
 * sl.shm.close();
 * sl.shm.unlink();
 * ```
 */
export type ShareableItem = number | bigint | boolean | string | Uint8Array | null;

/**
 * Options of {@linkcode ShareableList}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ShareableList, type ShareableListOptions } from "./named_shared_memory.ts";
 * const options: ShareableListOptions = { name: "example_list" };
 * const sl = new ShareableList([1, 2], options);
 * assert.equal(sl.shm.name, "example_list");
 * sl.shm.close();
 * sl.shm.unlink();
 * ```
 */
export interface ShareableListOptions {
  /** The name of the block: of a new one (with items), or of the one to attach to (without). */
  name?: string;
}

// Layout of the block: Int32 count, then 16 bytes per item (u8 kind, u32
// slot room, u32 length in bytes, u32 slot offset), then the slots, each a
// multiple of 8 bytes (8 at least), as Python's str slots.
const KIND_NULL = 0;
const KIND_NUMBER = 1;
const KIND_BIGINT = 2;
const KIND_BOOL = 3;
const KIND_STRING = 4;
const KIND_BYTES = 5;
const HEADER = 8;
const DESCRIPTOR = 16;
const FORMATS = ["x", "d", "q", "?", "s", "s"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeItem(item: unknown, where: string): [kind: number, bytes: Uint8Array | null] {
  if (item === null) return [KIND_NULL, null];
  switch (typeof item) {
    case "number":
      return [KIND_NUMBER, null];
    case "bigint":
      if (item < -(2n ** 63n) || item >= 2n ** 63n) {
        throw new RangeError(`Cannot store ${where}: ${item}n does not fit in 64 bits`);
      }
      return [KIND_BIGINT, null];
    case "boolean":
      return [KIND_BOOL, null];
    case "string":
      return [KIND_STRING, encoder.encode(item)];
  }
  if (item instanceof Uint8Array) return [KIND_BYTES, item];
  throw new TypeError(
    `Cannot store ${where}: a ShareableList holds numbers, bigints, booleans, strings, ` +
      `Uint8Arrays and null, received ${describeValue(item)}`,
  );
}

/**
 * A fixed-length list in a {@linkcode SharedMemory} block, readable and
 * writable from every thread that attaches by name (Python's
 * `multiprocessing.shared_memory.ShareableList`). Index it (`sl[0]`,
 * `sl[0] = 5`) or use `get`/`set`. A string or bytes item takes a slot of its
 * size (rounded up to 8 bytes): a longer one cannot replace it later, as in
 * Python.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ShareableList } from "./named_shared_memory.ts";
 * const sl = new ShareableList(["howdy", 42, null]);
 * const same = new ShareableList(null, { name: sl.shm.name }); // attach
 * same.set(1, 43);
 * assert.equal(sl.get(1), 43);
 * assert.throws(() => sl.set(0, "a string longer than the slot"), RangeError);
 * assert.equal(sl.index(null), 2);
 * same.shm.close();
 * sl.shm.close();
 * sl.shm.unlink();
 * ```
 */
export class ShareableList {
  /** The item at an index (read and written in shared memory). */
  [index: number]: ShareableItem;
  /** The block holding the list. */
  readonly shm: SharedMemory;
  #view: DataView;
  #bytes: Uint8Array;

  /**
   * Creates a list from `sequence`, or attaches to the one named `options.name`.
   *
   * @param sequence The items of a new list; `null` or omitted to attach.
   * @param options `name`.
   * @throws {TypeError} For an item of another type, or no sequence and no name.
   * @throws {RangeError} For a bigint beyond 64 bits.
   */
  constructor(sequence?: Iterable<ShareableItem> | null, options: ShareableListOptions = {}) {
    checkOptions(options, ["name"], "create shareable list");
    if (sequence === undefined || sequence === null) {
      if (options.name === undefined) {
        throw new TypeError(
          "Cannot attach to a shareable list: give its 'name' (or items for a new list)",
        );
      }
      this.shm = new SharedMemory({ name: options.name });
      const head = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, this.shm.size);
      const count = this.shm.size >= HEADER ? head.getInt32(0, true) : -1;
      if (count < 0 || HEADER + DESCRIPTOR * count > this.shm.size) {
        this.shm.close();
        throw new Error(
          `Cannot attach to shareable list '${options.name}': its block does not hold one`,
        );
      }
    } else {
      const items = Array.from(sequence);
      const encoded = items.map((item, i) => encodeItem(item, `item ${i}`));
      const rooms = encoded.map(([, bytes]) =>
        Math.max(8, Math.ceil((bytes?.length ?? 0) / 8) * 8)
      );
      const dataStart = HEADER + DESCRIPTOR * items.length;
      const size = dataStart + rooms.reduce((a, b) => a + b, 0);
      this.shm = new SharedMemory({ name: options.name, create: true, size });
      const view = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, size);
      view.setInt32(0, items.length, true);
      let at = dataStart;
      for (let i = 0; i < items.length; i++) {
        view.setUint32(HEADER + DESCRIPTOR * i + 4, rooms[i], true);
        view.setUint32(HEADER + DESCRIPTOR * i + 12, at, true);
        at += rooms[i];
      }
      this.#view = view;
      this.#bytes = this.shm.buf;
      items.forEach((item, i) => this.#write(i, item, encoded[i]));
    }
    const buf = this.shm.buf;
    this.#bytes = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    // Index access goes straight to shared memory.
    return new Proxy(this, {
      get(target, key) {
        if (typeof key === "string" && /^-?\d+$/.test(key)) return target.get(Number(key));
        const member = Reflect.get(target, key, target);
        return typeof member === "function" ? member.bind(target) : member;
      },
      set(target, key, value) {
        if (typeof key === "string" && /^-?\d+$/.test(key)) {
          target.set(Number(key), value);
          return true;
        }
        return Reflect.set(target, key, value, target);
      },
    });
  }

  /** The number of items. */
  get length(): number {
    return this.#view.getInt32(0, true);
  }

  /** Python's struct format of the items, as they are now (`d`, `q`, `?`, `x`, `<room>s`). */
  get format(): string {
    let format = "";
    for (let i = 0; i < this.length; i++) {
      const kind = this.#view.getUint8(HEADER + DESCRIPTOR * i);
      format += kind === KIND_STRING || kind === KIND_BYTES
        ? `${this.#view.getUint32(HEADER + DESCRIPTOR * i + 4, true)}s`
        : FORMATS[kind];
    }
    return format;
  }

  /**
   * The item at `index` (negative counts from the end).
   *
   * @throws {RangeError} For an index out of range.
   */
  get(index: number): ShareableItem {
    const i = this.#index(index, "get");
    const d = HEADER + DESCRIPTOR * i;
    const kind = this.#view.getUint8(d);
    const length = this.#view.getUint32(d + 8, true);
    const at = this.#view.getUint32(d + 12, true);
    switch (kind) {
      case KIND_NUMBER:
        return this.#view.getFloat64(at, true) as ShareableItem;
      case KIND_BIGINT:
        return this.#view.getBigInt64(at, true) as ShareableItem;
      case KIND_BOOL:
        return (this.#view.getUint8(at) !== 0) as ShareableItem;
      case KIND_STRING:
        return decoder.decode(this.#bytes.subarray(at, at + length)) as ShareableItem;
      case KIND_BYTES:
        return this.#bytes.slice(at, at + length) as ShareableItem;
    }
    return null as ShareableItem;
  }

  /**
   * Replaces the item at `index` with one of any kind that fits its slot.
   *
   * @throws {RangeError} For an index out of range, or a string or bytes longer than the slot.
   * @throws {TypeError} For a value of another type.
   */
  set(index: number, value: ShareableItem): void {
    const i = this.#index(index, "set");
    this.#write(i, value, encodeItem(value, `item ${index}`));
  }

  /** How many items equal `value` (`===`, bytes by content; NaN equals nothing, as in Python). */
  count(value: ShareableItem): number {
    let n = 0;
    for (const item of this) if (same(item, value)) n++;
    return n;
  }

  /**
   * The index of the first item equal to `value`.
   *
   * @throws {Error} When no item is (Python's ValueError).
   */
  index(value: ShareableItem): number {
    let i = 0;
    for (const item of this) {
      if (same(item, value)) return i;
      i++;
    }
    throw new Error(`Cannot find ${describeValue(value)} in the shareable list`);
  }

  /** The items in order. */
  *[Symbol.iterator](): IterableIterator<ShareableItem> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  #index(index: number, action: string): number {
    const length = this.length;
    const i = Number.isInteger(index) && index < 0 ? index + length : index;
    if (!Number.isInteger(i) || i < 0 || i >= length) {
      throw new RangeError(`Cannot ${action} item ${index}: the list has ${length} items`);
    }
    return i;
  }

  #write(i: number, value: unknown, [kind, bytes]: [number, Uint8Array | null]): void {
    const d = HEADER + DESCRIPTOR * i;
    const room = this.#view.getUint32(d + 4, true);
    const at = this.#view.getUint32(d + 12, true);
    if (bytes && bytes.length > room) {
      throw new RangeError(
        `Cannot set item ${i}: ${bytes.length} bytes do not fit in its slot of ${room} ` +
          "(a slot keeps the size of the item it was made with)",
      );
    }
    switch (kind) {
      case KIND_NUMBER:
        this.#view.setFloat64(at, value as number, true);
        break;
      case KIND_BIGINT:
        this.#view.setBigInt64(at, value as bigint, true);
        break;
      case KIND_BOOL:
        this.#view.setUint8(at, value ? 1 : 0);
        break;
      case KIND_STRING:
      case KIND_BYTES:
        this.#bytes.set(bytes!, at);
        break;
    }
    this.#view.setUint32(d + 8, bytes?.length ?? 0, true);
    this.#view.setUint8(d, kind);
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  return a === b; // NaN equals nothing, as in Python
}

/**
 * `Value`, `RawValue`, `SharedArray` and `RawArray`: numbers in shared memory
 * (Python's `multiprocessing.Value` and `Array`). Writes from any thread are
 * visible to every other. With them, Python's `multiprocessing.shared_memory`:
 * `SharedMemory` and `ShareableList`, named blocks that any thread attaches to
 * (from `./named_shared_memory.ts`).
 *
 * @module
 */
import {
  adoptHandle,
  newSharedId,
  registerShareable,
  reviveReduction,
  SHARE,
  type SharedReduction,
} from "./_shared_registry.ts";
import { Lock, RLock } from "./synchronize.ts";
import { placeIn } from "./_placement.ts";
import { checkOptions } from "./_options.ts";
import { describeValue } from "./_timeout.ts";

export * from "./named_shared_memory.ts";

/**
 * Python's array typecodes. `l`/`L` are 64-bit, as on Linux; 64-bit ones hold bigints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedArray, type Typecode } from "./shared_memory.ts";
 * const code: Typecode = "d";
 * const arr = new SharedArray(code, [0.5, 1.5]);
 * assert.equal(arr[1], 1.5);
 * assert.throws(() => new SharedArray("x" as Typecode, 1), TypeError);
 * ```
 */
export type Typecode = "b" | "B" | "h" | "H" | "i" | "I" | "l" | "L" | "q" | "Q" | "f" | "d";

/**
 * The typecodes whose items are 64-bit integers (bigints).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BigTypecode, Value } from "./shared_memory.ts";
 * const code: BigTypecode = "q";
 * const counter = new Value(code, 2n ** 40n);
 * counter.value += 1n;
 * assert.equal(counter.value, 1099511627777n);
 * ```
 */
export type BigTypecode = "l" | "L" | "q" | "Q";

/**
 * The JS type of an item of typecode `C`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ItemOf } from "./shared_memory.ts";
 * const small: ItemOf<"i"> = 1; // number
 * const big: ItemOf<"Q"> = 1n; // bigint
 * assert.equal(typeof small + typeof big, "numberbigint");
 * ```
 */
export type ItemOf<C extends Typecode> = C extends BigTypecode ? bigint : number;

type View =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

const VIEWS: Record<
  Typecode,
  new (buffer: SharedArrayBuffer, offset?: number, length?: number) => View
> = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: BigInt64Array,
  L: BigUint64Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
};

/**
 * Options of {@linkcode Value} and {@linkcode SharedArray}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedArray, type SynchronizedOptions, Value } from "./shared_memory.ts";
 * import { Lock } from "./synchronize.ts";
 * const lock = new Lock();
 * const shared: SynchronizedOptions = { lock }; // one lock for both
 * const total = new Value("i", 0, shared);
 * const parts = new SharedArray("i", 3, shared);
 * assert.equal(total.getLock(), parts.getLock());
 * ```
 */
export interface SynchronizedOptions {
  /**
   * `true` makes a new RLock for `getLock()`; a Lock or RLock uses that one; `false` none.
   * Anything else is a TypeError.
   * @default {true}
   */
  lock?: boolean | RLock | Lock;
}

interface State {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  lock: SharedReduction | null;
}

let reviving: { state: State; id: number } | undefined;

function checkTypecode(typecode: unknown, what: string): Typecode {
  if (typeof typecode !== "string" || !Object.hasOwn(VIEWS, typecode)) {
    throw new TypeError(
      `Cannot create ${what}: typecode must be one of b B h H i I l L q Q f d, received ${
        JSON.stringify(typecode)
      }`,
    );
  }
  return typecode as Typecode;
}

function isBig(typecode: Typecode): boolean {
  return "lLqQ".includes(typecode);
}

/** How a Value of `typecode` is read and written: floats plainly (Atomics takes only integers). */
function kindOf(typecode: Typecode): "float" | "big" | "int" {
  return typecode === "f" || typecode === "d" ? "float" : isBig(typecode) ? "big" : "int";
}

/**
 * The lock of a new Value or SharedArray, from checked options; a new RLock
 * goes at the start of `buffer`.
 */
function makeLock(
  options: SynchronizedOptions,
  buffer: SharedArrayBuffer,
  what: string,
): RLock | Lock | null {
  checkOptions(options, ["lock"], `create ${what}`);
  const option = options.lock;
  if (option === false) return null;
  if (option === undefined || option === true) return placeIn(buffer, () => new RLock());
  if (option instanceof Lock || option instanceof RLock) return option;
  throw new TypeError(
    `Cannot create ${what}: 'lock' must be true, false, a Lock or an RLock, received ${
      describeValue(option)
    }`,
  );
}

/** `value` as the typecode's item (a number, or a bigint for 64-bit integers), else a TypeError. */
function checkItem(typecode: Typecode, value: unknown): number | bigint {
  if (kindOf(typecode) !== "big") {
    if (typeof value !== "number") throw badItem(typecode, value);
    return value;
  }
  if (typeof value !== "bigint" && !Number.isSafeInteger(value)) throw badItem(typecode, value);
  return BigInt(value as number | bigint);
}

/** The TypeError for a value that does not fit a typecode (Python raises TypeError too). */
function badItem(typecode: Typecode, value: unknown): TypeError {
  const want = kindOf(typecode) === "big" ? "a bigint (or a safe integer)" : "a number";
  return new TypeError(
    `Cannot store ${describeValue(value)} as a '${typecode}' item: it takes ${want}`,
  );
}

/** The lock of a Value or SharedArray, or the error for one made without. */
function lockOf(lock: RLock | Lock | null, what: string): RLock | Lock {
  if (!lock) throw new Error(`Cannot get the lock: this ${what} was made without one`);
  return lock;
}

/** The reduction of a Value or SharedArray. */
function reduction(
  self: { typecode: Typecode; constructor: { name: string } },
  view: View,
  lock: RLock | Lock | null,
  id: number,
): SharedReduction {
  const state: State = {
    typecode: self.typecode,
    buffer: view.buffer as SharedArrayBuffer,
    lock: lock ? lock[SHARE]() : null,
  };
  return { type: self.constructor.name, id, state };
}

/** Bytes before the items of a Value or SharedArray: room for its lock's words. */
const LOCK_BYTES = 16;

/**
 * One number in shared memory with a lock (Python's `multiprocessing.Value`).
 * Reading and writing `.value` is atomic; use `getLock()` for read-modify-write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Value } from "./shared_memory.ts";
 * const counter = new Value("i", 0);
 * {
 *   using _held = await counter.getLock().hold();
 *   counter.value += 1;
 * }
 * assert.ok(counter.value === 1);
 * ```
 */
export class Value<C extends Typecode = Typecode> {
  /** The typecode. */
  readonly typecode: C;
  #view: View;
  /** How `.value` reads and writes (decided once: it is on every hot loop's path). */
  #kind: "float" | "big" | "int";
  #lock: RLock | Lock | null;
  #id: number;

  /**
   * Creates a value.
   *
   * @param typecode One of `b B h H i I l L q Q f d`.
   * @param initial The initial value (0 by default).
   * @param options `lock`.
   * @throws {TypeError} For another typecode, or a `lock` that is not true, false, a Lock or an RLock.
   */
  constructor(typecode: C, initial?: ItemOf<C>, options: SynchronizedOptions = {}) {
    if (reviving) {
      const { state, id } = reviving;
      this.typecode = state.typecode as C;
      this.#view = new VIEWS[state.typecode](state.buffer, LOCK_BYTES, 1);
      this.#kind = kindOf(this.typecode);
      this.#lock = state.lock && reviveReduction(state.lock) as RLock;
      this.#id = id;
      return;
    }
    this.typecode = checkTypecode(typecode, "value") as C;
    const buffer = new SharedArrayBuffer(LOCK_BYTES + 8);
    this.#view = new VIEWS[this.typecode](buffer, LOCK_BYTES, 1);
    this.#kind = kindOf(this.typecode);
    this.#lock = makeLock(options, buffer, "value");
    this.#id = newSharedId();
    adoptHandle(this, this.#id);
    if (initial !== undefined) this.value = initial;
  }

  /** The number (a bigint for 64-bit integer typecodes). */
  get value(): ItemOf<C> {
    return (this.#kind === "float"
      ? this.#view[0]
      : Atomics.load(this.#view as Int32Array, 0)) as ItemOf<C>;
  }

  set value(v: ItemOf<C>) {
    const kind = this.#kind;
    // A plain store for numbers: an aligned integer store cannot tear, and
    // an Atomics.store costs a ~15 ns call. Under the lock the lock's release
    // publishes it; without one it becomes visible as a store does. Reads
    // stay atomic: a plain read in a reader's spin loop could be hoisted out
    // of the loop by the compiler, and the loop would never see the change.
    if (kind !== "big") {
      if (typeof v !== "number") throw badItem(this.typecode, v);
      this.#view[0] = v;
    } else {
      if (typeof v !== "bigint" && !Number.isSafeInteger(v)) throw badItem(this.typecode, v);
      Atomics.store(this.#view as BigInt64Array, 0, BigInt(v));
    }
  }

  /**
   * The lock guarding this value.
   *
   * @throws {Error} For a value made with `lock: false` (a RawValue).
   */
  getLock(): RLock | Lock {
    return lockOf(this.#lock, "value");
  }

  /** Python spelling of {@linkcode Value.getLock}. */
  get_lock(): RLock | Lock {
    return this.getLock();
  }

  /**
   * Reduces the value to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return reduction(this, this.#view, this.#lock, this.#id);
  }
}

/**
 * A {@linkcode Value} without a lock (Python's `RawValue`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RawValue } from "./shared_memory.ts";
 * const ratio = new RawValue("d", 0.5);
 * assert.ok(ratio.value === 0.5);
 * ```
 */
export class RawValue<C extends Typecode = Typecode> extends Value<C> {
  /**
   * Creates a value without a lock.
   *
   * @param typecode One of `b B h H i I l L q Q f d`.
   * @param initial The initial value.
   */
  constructor(typecode: C, initial?: ItemOf<C>) {
    super(typecode, initial, { lock: false });
  }
}

/**
 * A fixed-length array of numbers in shared memory (Python's
 * `multiprocessing.Array`), indexable and iterable like a typed array:
 * `arr[i]`, `arr.length`, `for (const x of arr)`, `Array.from(arr)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SharedArray } from "./shared_memory.ts";
 * const arr = new SharedArray("i", [1, 2, 3]);
 * arr[0] = 10;
 * assert.ok(arr.length === 3 && Array.from(arr).join() === "10,2,3");
 * ```
 */
export class SharedArray<C extends Typecode = Typecode> {
  /** The item at an index (read and written straight in shared memory). */
  [index: number]: ItemOf<C>;
  /** The typecode. */
  readonly typecode: C;
  #view: View;
  #lock: RLock | Lock | null;
  #id: number;

  /**
   * Creates an array, zero-filled or from values.
   *
   * @param typecode One of `b B h H i I l L q Q f d`.
   * @param sizeOrValues A length, or the initial values.
   * @param options `lock`.
   * @throws {TypeError} For another typecode, a size that is not an integer >= 0, or a `lock`
   *   that is not true, false, a Lock or an RLock.
   */
  constructor(
    typecode: C,
    sizeOrValues: number | Iterable<ItemOf<C>>,
    options: SynchronizedOptions = {},
  ) {
    if (reviving) {
      const { state, id } = reviving;
      this.typecode = state.typecode as C;
      this.#view = new VIEWS[state.typecode](state.buffer, LOCK_BYTES);
      this.#lock = state.lock && reviveReduction(state.lock) as RLock;
      this.#id = id;
    } else {
      this.typecode = checkTypecode(typecode, "array") as C;
      const values = typeof sizeOrValues === "number" ? undefined : Array.from(sizeOrValues);
      const length = values?.length ?? sizeOrValues;
      if (!Number.isInteger(length) || (length as number) < 0) {
        throw new TypeError(
          `Cannot create array: size must be an integer >= 0, received ${String(sizeOrValues)}`,
        );
      }
      const Ctor = VIEWS[this.typecode];
      const bytes = (length as number) *
        (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const buffer = new SharedArrayBuffer(LOCK_BYTES + bytes);
      this.#view = new Ctor(buffer, LOCK_BYTES, length as number);
      if (values) {
        const typecode = this.typecode;
        values.forEach((v, i) => this.#view[i] = checkItem(typecode, v) as never);
      }
      this.#lock = makeLock(options, buffer, "array");
      this.#id = newSharedId();
      adoptHandle(this, this.#id);
    }
    const view = this.#view;
    // Index access goes straight to the shared view.
    return new Proxy(this, {
      get(target, key) {
        if (typeof key === "string" && /^\d+$/.test(key)) return view[Number(key)];
        // Members run on the target itself: they use its private fields.
        const member = Reflect.get(target, key, target);
        return typeof member === "function" ? member.bind(target) : member;
      },
      set(target, key, value) {
        if (typeof key === "string" && /^\d+$/.test(key)) {
          const i = Number(key);
          if (i >= view.length) {
            throw new RangeError(`Index ${i} is out of range (length ${view.length})`);
          }
          view[i] = checkItem(target.typecode, value) as never;
          return true;
        }
        return Reflect.set(target, key, value, target);
      },
    });
  }

  /** The number of items. */
  get length(): number {
    return this.#view.length;
  }

  /** The items in order. */
  *[Symbol.iterator](): IterableIterator<ItemOf<C>> {
    yield* this.#view as Iterable<ItemOf<C>>;
  }

  /**
   * The lock guarding this array.
   *
   * @throws {Error} For an array made with `lock: false` (a RawArray).
   */
  getLock(): RLock | Lock {
    return lockOf(this.#lock, "array");
  }

  /** Python spelling of {@linkcode SharedArray.getLock}. */
  get_lock(): RLock | Lock {
    return this.getLock();
  }

  /**
   * Reduces the array to its shared state, to travel to another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return reduction(this, this.#view, this.#lock, this.#id);
  }
}

/**
 * A {@linkcode SharedArray} without a lock (Python's `RawArray`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RawArray } from "./shared_memory.ts";
 * const arr = new RawArray("d", 3);
 * assert.ok(arr[2] === 0);
 * ```
 */
export class RawArray<C extends Typecode = Typecode> extends SharedArray<C> {
  /**
   * Creates an array without a lock.
   *
   * @param typecode One of `b B h H i I l L q Q f d`.
   * @param sizeOrValues A length, or the initial values.
   */
  constructor(typecode: C, sizeOrValues: number | Iterable<ItemOf<C>>) {
    super(typecode, sizeOrValues, { lock: false });
  }
}

function reviver<T>(make: () => T) {
  return (state: unknown, id: number): T => {
    reviving = { state: state as State, id };
    try {
      return make();
    } finally {
      reviving = undefined;
    }
  };
}

registerShareable("Value", reviver(() => new Value<Typecode>("i")));
registerShareable("SharedArray", reviver(() => new SharedArray<Typecode>("i", 0)));
registerShareable("RawValue", reviver(() => new RawValue<Typecode>("i")));
registerShareable("RawArray", reviver(() => new RawArray<Typecode>("i", 0)));

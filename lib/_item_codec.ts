// Queue items and pipe messages cross threads as bytes in shared memory, so
// they need a serializer. Deno has no synchronous structured-clone-to-bytes
// API (node:v8's costs ~7 ms to import and ~15 µs per small value), so this is
// our own, with two formats:
// - PLAIN: the item is JSON-safe (see _json_safe.ts): its JSON text. The fast
//   path, ~1 µs for a small item.
// - TAGGED: any other structured-cloneable value, as a JSON tree in which
//   every value is tagged, plus raw byte blobs for ArrayBuffers and typed
//   arrays (copied once, not encoded). Shared references and cycles are kept,
//   as structured clone keeps them.
// Values structured clone refuses (functions, symbols, WeakMaps, class
// instances holding private state such as a Worker) are refused here too,
// with the path to the offending value.

import { isJsonSafe } from "./_json_safe.ts";
import { BUILTIN_ERRORS } from "./_remote_error.ts";
import { reduceShared, reviveShared, SHARE } from "./_shared_registry.ts";

/** An encoded item: format, JSON text and blobs. */
export interface EncodedItem {
  readonly tagged: boolean;
  readonly json: string;
  readonly blobs: Uint8Array[];
  /** The blobs are fresh buffers of their exact size: decoding may keep them without a copy. */
  readonly owned?: boolean;
}

type Tagged = null | boolean | string | number | TaggedNode;
type TaggedNode = [tag: string, ...rest: unknown[]];

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};
if (typeof Float16Array === "function") {
  TYPED_ARRAYS.Float16Array = Float16Array as unknown as new (b: ArrayBuffer) => ArrayBufferView;
}

/** The blobs of every plain item (shared: plain items have none, and nothing adds any). */
const NO_BLOBS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/**
 * An item ready for a byte queue: encoded, or a safe integer other than -0,
 * which travels as its decimal digits written straight into the ring (see
 * ByteQueue.pushInteger) and comes back as the same number.
 */
export type QueueItem = EncodedItem | number;

/** Encodes `value` for a queue or pipe, leaving a plain integer as it is. */
export function encodeQueueItem(value: unknown): QueueItem {
  return typeof value === "number" && Number.isSafeInteger(value) && (value !== 0 || 1 / value > 0)
    ? value
    : encodeItem(value);
}

/** Set while encoding or decoding for a socket: shared objects cannot leave the program. */
let overSocket = false;

/**
 * Encodes `value` for a socket: as {@linkcode encodeItem}, but a shared
 * object (a Queue, a Lock...) is refused, since it cannot leave the program.
 * @throws {TypeError} naming the part of the value that cannot be sent.
 */
export function encodeForSocket(value: unknown): EncodedItem {
  overSocket = true;
  try {
    return encodeItem(value);
  } finally {
    overSocket = false;
  }
}

/**
 * Decodes what {@linkcode encodeForSocket} produced: a tag naming a shared
 * object is refused (the bytes came from another program).
 */
export function decodeFromSocket(item: EncodedItem): unknown {
  overSocket = true;
  try {
    return decodeItem(item.tagged, item.json, item.blobs, item.owned);
  } finally {
    overSocket = false;
  }
}

/**
 * Encodes `value` for a queue or pipe.
 * @throws {TypeError} naming the part of the value that cannot be cloned.
 */
export function encodeItem(value: unknown): EncodedItem {
  // A finite number other than -0 (queues and pipes write safe integers
  // without this, see encodeQueueItem): its JSON text is String()'s, which is
  // twice as fast as JSON.stringify here.
  if (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0)) {
    return { tagged: false, json: String(value), blobs: NO_BLOBS };
  }
  if (isJsonSafe(value)) return { tagged: false, json: JSON.stringify(value), blobs: NO_BLOBS };
  const blobs: Uint8Array[] = [];
  const seen = new Map<object, number>();
  const tree = encode(value, "item", blobs, seen);
  return { tagged: true, json: JSON.stringify(tree), blobs };
}

function encode(
  value: unknown,
  path: string,
  blobs: Uint8Array[],
  seen: Map<object, number>,
): Tagged {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return ["n", Object.is(value, -0) ? "-0" : String(value)];
    case "bigint":
      return ["b", value.toString()];
    case "undefined":
      return ["u"];
    case "function":
    case "symbol":
      throw new TypeError(`${path} is a ${typeof value}, which cannot be cloned`);
  }
  if (value === null) return null;
  const object = value as object;
  const ref = seen.get(object);
  if (ref !== undefined) return ["ref", ref];
  const id = seen.size;
  seen.set(object, id);
  if (overSocket && SHARE in object) {
    throw new TypeError(
      `${path} is a shared object (${object.constructor?.name}), which cannot leave the ` +
        `program through a socket`,
    );
  }
  const shared = reduceShared(object);
  if (shared) return ["x", shared.type, shared.id];
  if (Array.isArray(object)) {
    const items: Tagged[] = new Array(object.length);
    for (let i = 0; i < object.length; i++) {
      items[i] = i in object ? encode(object[i], `${path}[${i}]`, blobs, seen) : ["h"];
    }
    return ["a", items];
  }
  if (object instanceof Date) return ["d", object.getTime()];
  if (object instanceof RegExp) return ["r", object.source, object.flags];
  if (object instanceof Map) {
    const entries: Tagged[] = [];
    let i = 0;
    for (const [k, v] of object) {
      entries.push(encode(k, `${path} key ${i}`, blobs, seen));
      entries.push(encode(v, `${path}.get(key ${i++})`, blobs, seen));
    }
    return ["m", entries];
  }
  if (object instanceof Set) {
    const items: Tagged[] = [];
    let i = 0;
    for (const v of object) items.push(encode(v, `${path} element ${i++}`, blobs, seen));
    return ["s", items];
  }
  if (object instanceof ArrayBuffer) {
    // A view, not a copy: the frame copies it into shared memory once.
    blobs.push(new Uint8Array(object));
    return ["ab", blobs.length - 1];
  }
  if (ArrayBuffer.isView(object)) {
    const name = object.constructor.name;
    if (object.buffer instanceof SharedArrayBuffer) {
      throw new TypeError(
        `${path} is a view of a SharedArrayBuffer, which cannot go through a queue; ` +
          `pass it as a task or Process argument, or use SharedArray`,
      );
    }
    blobs.push(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
    return name === "DataView" ? ["dv", blobs.length - 1] : ["t", name, blobs.length - 1];
  }
  if (object instanceof Error) {
    return [
      "e",
      object.name,
      object.message,
      object.stack ?? "",
      "cause" in object ? encode(object.cause, `${path}.cause`, blobs, seen) : ["u"],
    ];
  }
  if (object instanceof Boolean || object instanceof Number || object instanceof String) {
    return ["w", typeof object.valueOf(), object.valueOf() as string | number | boolean];
  }
  if (object instanceof SharedArrayBuffer) {
    throw new TypeError(
      `${path} is a SharedArrayBuffer, which cannot go through a queue; pass it as a task ` +
        `or Process argument, or use SharedArray`,
    );
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null && !isPlainData(object)) {
    throw new TypeError(
      `${path} is a ${object.constructor?.name ?? "non-plain object"}, which cannot be cloned`,
    );
  }
  // Plain objects, and class instances as structured clone sends them: own
  // enumerable properties only.
  const entries: Tagged[] = [];
  for (const key of Object.keys(object)) {
    entries.push(
      key,
      encode((object as Record<string, unknown>)[key], `${path}.${key}`, blobs, seen),
    );
  }
  return ["o", entries];
}

/** Class instances whose state is all in own properties clone as plain objects. */
function isPlainData(object: object): boolean {
  return !(object instanceof WeakMap || object instanceof WeakSet || object instanceof Promise ||
    object instanceof WeakRef || typeof (object as { postMessage?: unknown }).postMessage ===
      "function");
}

/** Decodes what {@linkcode encodeItem} produced. */
export function decodeItem(
  tagged: boolean,
  json: string,
  blobs: Uint8Array[],
  owned = false,
): unknown {
  const tree = JSON.parse(json);
  return tagged ? decode(tree, owned ? blobs : blobs.map((b) => b.slice()), []) : tree;
}

function decode(node: Tagged, blobs: Uint8Array[], refs: unknown[]): unknown {
  if (!Array.isArray(node)) return node;
  const [tag] = node;
  switch (tag) {
    case "n":
      return Number(node[1]);
    case "b":
      return BigInt(node[1] as string);
    case "u":
      return undefined;
    case "ref":
      return refs[node[1] as number];
    case "x": {
      if (overSocket) throw new TypeError("Cannot decode a shared object that came from a socket");
      const value = reviveShared(node[1] as string, node[2] as number);
      refs.push(value);
      return value;
    }
    case "a": {
      const items = node[1] as Tagged[];
      const out: unknown[] = new Array(items.length);
      refs.push(out);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (Array.isArray(item) && item[0] === "h") continue;
        out[i] = decode(item, blobs, refs);
      }
      return out;
    }
    case "o": {
      const out: Record<string, unknown> = {};
      refs.push(out);
      const entries = node[1] as Tagged[];
      for (let i = 0; i < entries.length; i += 2) {
        Object.defineProperty(out, entries[i] as string, {
          value: decode(entries[i + 1], blobs, refs),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "d": {
      const out = new Date(node[1] as number);
      refs.push(out);
      return out;
    }
    case "r": {
      const out = new RegExp(node[1] as string, node[2] as string);
      refs.push(out);
      return out;
    }
    case "m": {
      const out = new Map();
      refs.push(out);
      const entries = node[1] as Tagged[];
      for (let i = 0; i < entries.length; i += 2) {
        out.set(decode(entries[i], blobs, refs), decode(entries[i + 1], blobs, refs));
      }
      return out;
    }
    case "s": {
      const out = new Set();
      refs.push(out);
      for (const item of node[1] as Tagged[]) out.add(decode(item, blobs, refs));
      return out;
    }
    case "ab": {
      const out = blobs[node[1] as number].buffer as ArrayBuffer;
      refs.push(out);
      return out;
    }
    case "t": {
      const out = new TYPED_ARRAYS[node[1] as string](
        blobs[node[2] as number].buffer as ArrayBuffer,
      );
      refs.push(out);
      return out;
    }
    case "dv": {
      const out = new DataView(blobs[node[1] as number].buffer as ArrayBuffer);
      refs.push(out);
      return out;
    }
    case "e": {
      const name = node[1] as string;
      const Ctor = Object.hasOwn(BUILTIN_ERRORS, name) ? BUILTIN_ERRORS[name] : Error;
      const out = new Ctor(node[2] as string);
      refs.push(out);
      if (out.name !== node[1]) {
        Object.defineProperty(out, "name", { value: node[1], writable: true, configurable: true });
      }
      out.stack = node[3] as string;
      const cause = decode(node[4] as Tagged, blobs, refs);
      if (cause !== undefined) out.cause = cause;
      return out;
    }
    case "w": {
      const value = node[2] as string | number | boolean;
      const out = Object(value);
      refs.push(out);
      return out;
    }
  }
  throw new TypeError(`Cannot decode a queue item: unknown tag ${String(tag)}`);
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Lays an encoded item out as the parts of one frame:
 * [u8 tagged][u8 0][u16 blob count][u32 JSON bytes][u32 blob bytes ...][JSON] then the blobs,
 * which are not copied here (the queue copies every part into shared memory once).
 */
export function toFrame(item: EncodedItem): Uint8Array[] {
  const json = textEncoder.encode(item.json);
  if (item.blobs.length > 0xffff) throw new RangeError("Cannot send more than 65535 buffers");
  const headerBytes = 8 + 4 * item.blobs.length;
  const head = new Uint8Array(headerBytes + json.length);
  const view = new DataView(head.buffer);
  view.setUint8(0, item.tagged ? TAGGED : PLAIN);
  view.setUint16(2, item.blobs.length, true);
  view.setUint32(4, json.length, true);
  item.blobs.forEach((blob, i) => view.setUint32(8 + 4 * i, blob.length, true));
  head.set(json, headerBytes);
  return [head, ...item.blobs];
}

/** Frame kind of a plain item: one byte 0, then its JSON text. */
export const PLAIN = 0;

/** Frame kind of a tagged item (the first byte {@linkcode toFrame} writes). */
export const TAGGED = 1;

/**
 * A frame as a queue hands it out: the text of a short plain frame (a number
 * when that text is an integer), a large tagged frame already split into its
 * parts, or any other frame's bytes.
 */
export type Frame = string | number | Uint8Array | EncodedItem;

/** Decodes a queue frame. */
export function decodeFrame(frame: Frame): unknown {
  if (typeof frame === "number") return frame;
  if (typeof frame === "string") {
    // A plain frame that starts like a number is one (JSON.stringify wrote
    // it; non-finite numbers and -0 go tagged), and Number() reads it faster.
    const c = frame.charCodeAt(0);
    return (c >= 48 && c <= 57) || c === 45 ? Number(frame) : JSON.parse(frame);
  }
  if (!(frame instanceof Uint8Array)) {
    return decodeItem(frame.tagged, frame.json, frame.blobs, frame.owned);
  }
  if (frame[0] === PLAIN) return JSON.parse(textDecoder.decode(frame.subarray(1)));
  const { tagged, json, blobs } = fromFrame(frame);
  return decodeItem(tagged, json, blobs);
}

/** A frame's bytes, whatever form the queue handed it out in. */
export function frameBytes(frame: Frame): Uint8Array {
  if (frame instanceof Uint8Array) return frame;
  const parts = typeof frame === "string" || typeof frame === "number"
    ? [new Uint8Array([PLAIN]), textEncoder.encode(String(frame))]
    : toFrame(frame);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/**
 * Reads a tagged frame in parts through `read(offset, length)`, which copies
 * from shared memory: each blob lands in a buffer of its own, copied once.
 */
export function readTaggedFrame(read: (offset: number, length: number) => Uint8Array): EncodedItem {
  const fixed = read(0, 8);
  const view = new DataView(fixed.buffer);
  const count = view.getUint16(2, true);
  const jsonBytes = view.getUint32(4, true);
  const lengths = new DataView(read(8, 4 * count).buffer);
  let at = 8 + 4 * count;
  const json = textDecoder.decode(read(at, jsonBytes));
  at += jsonBytes;
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = lengths.getUint32(4 * i, true);
    blobs.push(read(at, length));
    at += length;
  }
  return { tagged: true, json, blobs, owned: true };
}

/** Reads a frame made by {@linkcode toFrame} back into an encoded item. */
export function fromFrame(frame: Uint8Array): EncodedItem {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint16(2, true);
  const jsonBytes = view.getUint32(4, true);
  let at = 8 + 4 * count;
  const json = textDecoder.decode(frame.subarray(at, at + jsonBytes));
  at += jsonBytes;
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(8 + 4 * i, true);
    blobs.push(frame.subarray(at, at + length));
    at += length;
  }
  return { tagged: view.getUint8(0) === 1, json, blobs };
}

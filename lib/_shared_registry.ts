// The reduce/revive protocol for shared objects (pickle's __reduce__): a
// Queue, Connection or other shareable given as a task or Process argument, or
// put on a queue, arrives in the other thread as a working handle on the same
// shared memory.
//
// A shareable class implements [SHARE]() -> { type, id, state }, where `state`
// holds its SharedArrayBuffers, and registers a reviver for its `type`.
// - Through postMessage (task and Process arguments) the state travels inline:
//   packShared() swaps shareables for marker records, unpackShared() revives.
// - Through a queue, items are bytes and a SharedArrayBuffer cannot be bytes,
//   so an item carries only (type, id). The main thread is the directory of
//   states: a worker announces the state of an object it puts on a queue, and
//   a worker that gets an item naming an unknown id asks the main thread.
//
// Each thread keeps one handle per id (weakly), so a queue that comes back to
// the thread that made it is the same object.

import { threadContext } from "./_context.ts";

/** The method a shareable class implements. */
export const SHARE: unique symbol = Symbol.for("@dmp/multiprocessing.share") as never;

/** What a shareable object reduces to. */
export interface SharedReduction {
  type: string;
  id: number;
  state: SharedState;
}

/** A shareable's state: structured-cloneable, usually holding SharedArrayBuffers. */
export type SharedState = unknown;

/** Anything with a [SHARE] method. */
export interface Shareable {
  [SHARE](): SharedReduction;
}

/** Messages of the directory protocol (worker ↔ main, by postMessage). */
export type DirectoryMessage =
  | { t: "share"; id: number; type: string; state: SharedState }
  | { t: "lookup"; id: number };

type Reviver = (state: SharedState, id: number) => object;

const revivers = new Map<string, Reviver>();
/** Called when a reduction arrives in a thread that already has a handle for it. */
const onDuplicate = new Map<string, (handle: object) => void>();
/** Undoes what a reduction holds (a Connection's reference) when it will never be revived. */
const onDiscard = new Map<string, (state: SharedState) => void>();
const handles = new Map<number, WeakRef<object>>();
/** States this thread can hand out or revive, by id. */
const states = new Map<number, { type: string; state: SharedState }>();
const announced = new Set<number>();
const waiting = new Map<number, (() => void)[]>();
let channel: ((message: DirectoryMessage) => void) | undefined;

const MARK = "__dmp_shared__";

/**
 * Registers how to revive a shareable type. `duplicate` runs when a reduction
 * arrives where a handle for it already exists (a type that counts the
 * references its reductions carry drops one there).
 */
export function registerShareable(
  type: string,
  revive: Reviver,
  duplicate?: (handle: object) => void,
  discard?: (state: SharedState) => void,
): void {
  revivers.set(type, revive);
  if (duplicate) onDuplicate.set(type, duplicate);
  if (discard) onDiscard.set(type, discard);
}

/** A new id, unique across all threads of the program. */
export function newSharedId(): number {
  return Atomics.add(new Int32Array(threadContext().counters), 1, 1) + 1;
}

/** Records a handle made in this thread (by its constructor or a reviver). */
export function adoptHandle(handle: object, id: number): void {
  handles.set(id, new WeakRef(handle));
}

/** Worker side: where announcements and look-ups go (the main thread). */
export function setDirectoryChannel(send: (message: DirectoryMessage) => void): void {
  channel = send;
}

/** Learns a state (from an announcement, a look-up answer or an argument). */
export function learnShared(id: number, type: string, state: SharedState): void {
  if (!states.has(id)) states.set(id, { type, state });
  const list = waiting.get(id);
  if (list) {
    waiting.delete(id);
    for (const wake of list) wake();
  }
}

/**
 * A child worker announced a state. In a worker that started it (a pool or
 * process inside a worker), the announcement goes on up: the main thread is
 * the directory for every thread, at any depth.
 */
export function relayShared(id: number, type: string, state: SharedState): void {
  learnShared(id, type, state);
  if (channel && !announced.has(id)) {
    announced.add(id);
    channel({ t: "share", id, type, state });
  }
}

/**
 * Answers a child worker's look-up: `reply` gets the state with this id, at
 * once or when it becomes known (announced by a worker; in a worker, asked of
 * its own parent).
 */
export function lookupShared(id: number, reply: (type: string, state: SharedState) => void): void {
  const known = states.get(id);
  if (known) return reply(known.type, known.state);
  const list = waiting.get(id) ?? [];
  list.push(() => {
    const found = states.get(id)!;
    reply(found.type, found.state);
  });
  waiting.set(id, list);
  if (channel && list.length === 1) channel({ t: "lookup", id });
}

function isShareable(value: unknown): value is Shareable {
  return typeof value === "object" && value !== null && SHARE in value;
}

function handleFor(type: string, id: number, state: SharedState): object {
  const existing = handles.get(id)?.deref();
  if (existing) {
    onDuplicate.get(type)?.(existing);
    return existing;
  }
  const revive = revivers.get(type);
  if (!revive) throw new TypeError(`Cannot revive a shared ${type}: its module is not loaded`);
  const handle = revive(state, id);
  adoptHandle(handle, id);
  return handle;
}

/** The handle for a reduction (used by shareables that hold other shareables). */
export function reviveReduction({ type, id, state }: SharedReduction): object {
  learnShared(id, type, state);
  return handleFor(type, id, state);
}

// ---- postMessage path ----

/** Swaps shareables in `value` for marker records carrying their state (copy on write). */
export function packShared(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (isShareable(value)) {
    const { type, id, state } = value[SHARE]();
    return { [MARK]: [type, id, state] };
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      // Primitives without a call: a map chunk is mostly numbers and strings.
      if (typeof item !== "object" || item === null) continue;
      const packed = packShared(item, depth + 1);
      if (packed !== item) (out ??= value.slice())[i] = packed;
    }
    return out ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(value)) {
    const packed = packShared(v, depth + 1);
    if (packed !== v) (out ??= { ...value })[key] = packed;
  }
  return out ?? value;
}

/**
 * Lets go of the shareables packed in `value` that will never be revived (a
 * task that never ran), so that, say, a Connection's peer still sees
 * end-of-file.
 */
export function discardShared(value: unknown, depth = 0): void {
  if (typeof value !== "object" || value === null || depth > 64) return;
  if (Array.isArray(value)) {
    for (const item of value) discardShared(item, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return;
  const record = value as Record<string, unknown>;
  if (MARK in record) {
    const [type, , state] = record[MARK] as [string, number, SharedState];
    onDiscard.get(type)?.(state);
    return;
  }
  for (const key of Object.keys(record)) discardShared(record[key], depth + 1);
}

/** Revives the marker records of {@linkcode packShared}. */
export function unpackShared(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unpackShared(value[i], depth + 1);
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  if (MARK in record) {
    const [type, id, state] = record[MARK] as [string, number, SharedState];
    learnShared(id, type, state);
    return handleFor(type, id, state);
  }
  for (const key of Object.keys(record)) record[key] = unpackShared(record[key], depth + 1);
  return record;
}

// ---- queue item path ----

/** The (type, id) an item carries for a shareable, announcing its state if needed. */
export function reduceShared(value: object): { type: string; id: number } | undefined {
  if (!isShareable(value)) return undefined;
  const { type, id, state } = value[SHARE]();
  // Strong from here on: the item may outlive every handle of the sender.
  states.set(id, { type, state });
  if (channel && !announced.has(id)) {
    announced.add(id);
    channel({ t: "share", id, type, state });
  }
  return { type, id };
}

/** Thrown while decoding an item that names a shared object this thread does not know yet. */
export class UnknownShared extends Error {
  /** The unknown id. */
  readonly id: number;
  constructor(id: number) {
    super(`shared object ${id} is not known in this thread yet`);
    this.id = id;
  }
}

/** The handle for a (type, id) from a queue item. */
export function reviveShared(type: string, id: number): object {
  const known = states.get(id);
  if (!known) throw new UnknownShared(id);
  return handleFor(type, id, known.state);
}

/** Resolves once this thread knows the state of `id` (asking the main thread). */
export function whenShared(id: number): Promise<void> {
  if (states.has(id)) return Promise.resolve();
  return new Promise((resolve) => {
    const list = waiting.get(id) ?? [];
    list.push(resolve);
    waiting.set(id, list);
    if (channel && list.length === 1) channel({ t: "lookup", id });
  });
}

// ---- end of a Process ----

const processEndHooks: (() => void)[] = [];

/** Registers work to do when a Process's target ends (a shareable's cleanup). */
export function onProcessEnd(hook: () => void): void {
  processEndHooks.push(hook);
}

/** Runs the hooks of {@linkcode onProcessEnd} (the worker runtime, after a Process's target). */
export function runProcessEndHooks(): void {
  for (const hook of processEndHooks) hook();
}

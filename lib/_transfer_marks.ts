// The values transfer() marked, and the buffers each one moves. The marks are
// kept in a WeakMap on a global symbol, not a module variable, so a task
// module that loads another copy of the library still marks what the worker
// runtime reads. `pending` counts marks not taken yet: while it is 0 (nearly
// always), a submit or a result costs one load, not a look at every argument.
// A marked value collected before it was sent leaves `pending` above 0 for
// good: submits then look at their arguments, which costs little.

interface Marks {
  lists: WeakMap<object, ArrayBuffer[]>;
  pending: number;
}

const KEY = Symbol.for("@dmp/multiprocessing.transferMarks");
const global = globalThis as Record<symbol, Marks | undefined>;
const marks: Marks = global[KEY] ??= { lists: new WeakMap(), pending: 0 };

/** Marks `value` to move `buffers` when it is sent. */
export function markTransfer(value: object, buffers: ArrayBuffer[]): void {
  if (!marks.lists.has(value)) marks.pending++;
  marks.lists.set(value, buffers);
}

/** Whether any value is marked (cheap: check before scanning arguments). */
export function transfersPending(): boolean {
  return marks.pending > 0;
}

/** Takes the buffers `value` moves, unmarking it; undefined when it is not marked. */
export function takeTransfer(value: unknown): ArrayBuffer[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const list = marks.lists.get(value);
  if (list === undefined) return undefined;
  marks.lists.delete(value);
  marks.pending--;
  return list;
}

/**
 * Takes the buffers of every marked value among `values` (task arguments, or
 * map items); undefined when none is marked.
 */
export function takeTransfers(values: readonly unknown[]): ArrayBuffer[] | undefined {
  if (marks.pending === 0) return undefined;
  let all: Set<ArrayBuffer> | undefined;
  for (let i = 0; i < values.length && marks.pending > 0; i++) {
    const list = takeTransfer(values[i]);
    // A Set: two views of one buffer may both be marked, and postMessage
    // refuses a buffer listed twice.
    if (list) { for (const buffer of list) (all ??= new Set()).add(buffer); }
  }
  return all && [...all];
}

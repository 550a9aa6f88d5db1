// Who this thread is. The main thread is "MainProcess"; a worker learns its
// name and pid from its init message. Pids come from one shared counter that
// every worker inherits, so they are unique per worker ever started, also for
// pools started inside workers. `counters` slot 0 numbers workers, slot 1
// shared objects; past its first 8 bytes it holds the directory and the
// bytes of named shared memory (_named_memory.ts), so it is growable: every
// thread has it from its start, and sees it grow.

import { THREAD } from "./_protocol.ts";

/** Finds an exported function by name and source (set by the worker runtime). */
export type FunctionLookup = (
  name: string,
  src: string,
) => Promise<(...args: unknown[]) => unknown>;

interface Context {
  name: string;
  pid: number;
  /** The thread that started this one; none on the main thread. */
  parent: { name: string; pid: number } | undefined;
  counters: SharedArrayBuffer;
  /** True while a worker imports task modules: starting a pool then is a bug. */
  bootstrapping: boolean;
  /** A worker's thread-control block (THREAD fields); none on the main thread. */
  control: Int32Array | undefined;
  /** How this thread finds functions by reference (workers only). */
  lookup: FunctionLookup | undefined;
  /**
   * The program's main module: `Deno.mainModule` on the main thread; in a
   * worker (where `Deno.mainModule` is undefined) the one its parent passed
   * on, so pools and processes started in workers find main-module functions
   * at any depth.
   */
  mainModule: string | undefined;
}

let counters: SharedArrayBuffer | undefined;

const context: Context = {
  name: "MainProcess",
  pid: Deno.pid,
  parent: undefined,
  // Made on first use: a worker gets its parent's from enterWorker() instead,
  // and reserves no address space of its own.
  get counters(): SharedArrayBuffer {
    return (counters ??= programBlock());
  },
  set counters(block: SharedArrayBuffer) {
    counters = block;
  },
  bootstrapping: false,
  control: undefined,
  lookup: undefined,
  mainModule: Deno.mainModule,
};

/**
 * The program's shared block: growable up to a large reservation (address
 * space only; memory is committed as it grows), smaller where the system
 * refuses one that large.
 */
function programBlock(): SharedArrayBuffer {
  for (const max of [2 ** 35, 2 ** 32, 2 ** 28]) {
    try {
      return new SharedArrayBuffer(8, { maxByteLength: max });
    } catch {
      // Try a smaller reservation.
    }
  }
  return new SharedArrayBuffer(8);
}

/** This thread's identity. */
export function threadContext(): Readonly<Context> {
  return context;
}

/** Called once by the worker entry before it imports any task module. */
export function enterWorker(
  name: string,
  pid: number,
  parent: { name: string; pid: number },
  counters: SharedArrayBuffer,
  control: SharedArrayBuffer,
  mainModule: string,
): void {
  context.mainModule = mainModule || undefined;
  context.name = name;
  context.pid = pid;
  context.parent = parent;
  context.counters = counters;
  context.control = new Int32Array(control);
}

// Termination guard. A worker's terminate() can land between any two
// statements (always on the node backend), and a worker stopped while it
// holds a shared-memory lock would leave the lock held forever. So a worker
// counts the critical sections it is in, and the main thread, before
// terminating it, raises STOP and waits until the count is zero. Dekker's
// order makes it safe: the worker counts itself in, then takes the lock (an
// atomic read-modify-write, a full fence), then reads STOP; the main thread
// raises STOP, then reads the count. Only the worker writes its count, so
// plain writes do.

/**
 * Counts this worker into a critical section (call before taking the lock,
 * then {@linkcode stopRequested} after: the lock's atomic acquire orders the two).
 */
export function enterCritical(): void {
  const control = context.control;
  if (control) control[THREAD.CRITICAL]++;
}

/**
 * Whether this worker is being terminated: then the caller releases the lock
 * it just took and throws {@linkcode stopError} (no closure per lock taken).
 */
export function stopRequested(): boolean {
  const control = context.control;
  return control !== undefined && Atomics.load(control, THREAD.STOP) !== 0;
}

/** The error a worker being terminated throws out of a critical section. */
export function stopError(): Error {
  return new Error(`${context.name} is being terminated`);
}

/** Leaves a critical section. */
export function leaveCritical(): void {
  const control = context.control;
  if (control) control[THREAD.CRITICAL]--;
}

/**
 * This thread's id as a lock owner: -1 on the main thread, else the pid
 * (by the thread's kind, not its name: a worker may be named "MainProcess").
 */
export function lockOwnerId(): number {
  return context.control === undefined ? -1 : context.pid;
}

/** Whether this thread is a worker (a pool's or a Process's), not the main thread. */
export function inWorker(): boolean {
  return context.control !== undefined;
}

/** Sets how this worker finds functions by reference. */
export function setFunctionLookup(lookup: FunctionLookup): void {
  context.lookup = lookup;
}

/** Marks the start and end of a worker's module imports. */
export function setBootstrapping(on: boolean): void {
  context.bootstrapping = on;
}

/** The next worker pid (1, 2, 3, ... across the whole program). */
export function nextPid(): number {
  return Atomics.add(new Int32Array(context.counters), 0, 1) + 1;
}

// The wire protocol between the pool (main thread) and its workers.
//
// Two transports carry the same message shapes:
// - a shared-memory ring per direction (see _ring.ts) carrying batches of
//   messages as JSON text: the fast path for JSON-safe values;
// - postMessage (structured clone) for everything else and for control.
// Task messages are independent (results carry the task id), so the two
// transports need not preserve order relative to each other.

import type { WireError } from "./_remote_error.ts";

/** Field indices of a ring's Int32 header (in its SharedArrayBuffer). */
export const RING = {
  /** Producer's write position (free-running byte counter). */
  HEAD: 0,
  /** Consumer's read position. */
  TAIL: 1,
  /** Doorbell the consumer waits on; bumped after writes and postMessage kicks. */
  BELL: 2,
  /**
   * 1 while the consumer sleeps on BELL, 0 while it works or spins. The
   * producer calls Atomics.notify (a ~7 µs syscall) only when it is 1.
   */
  SLEEPING: 3,
  HEADER_BYTES: 16,
} as const;

/**
 * Field indices of a worker's thread-control block, shared with the main
 * thread so that terminate() never lands inside a shared-memory critical
 * section (see _context.ts).
 */
export const THREAD = {
  /** Critical sections (shared-memory locks) the worker is in. */
  CRITICAL: 0,
  /** 1 once the main thread is about to terminate the worker. */
  STOP: 1,
  /** 1 once the worker runs tasks (its modules are imported, its initializer done). */
  RUNNING: 2,
  /**
   * Bumped by the worker when it handles a "ping": a worker that does not
   * answer while its event loop should be free is stuck in a synchronous loop.
   */
  PONG: 3,
  /**
   * The worker's heap in MiB, written after each task when the pool has a
   * `maxHeapMb` (the main thread reads it between tasks).
   */
  HEAP_MB: 4,
  BYTES: 32,
} as const;

/** Capacity in bytes of each ring; frames that do not fit go by postMessage. */
export const RING_BYTES = 1 << 20;

/** Main → worker: define function id `fnId` as the export whose source is `src`. */
export const DEF = 0;
/** Main → worker: call function `fnId` with `args`. */
export const CALL = 1;
/** Main → worker: call function `fnId` on each item (spread when `star` is 1). */
export const CHUNK = 2;
/**
 * Main → worker: the caller gave up on task `taskId` (its signal aborted or
 * its timeout passed): abort its taskSignal() if it runs, drop it if it waits.
 * Always by the ring; it may overtake a task sent by postMessage, which the
 * worker then drops on arrival.
 */
export const CANCEL = 3;
/** Worker → main: task `taskId` returned `value`. */
export const OK = 0;
/** Worker → main: task `taskId` threw. */
export const ERR = 1;

/** A function reference: its name and source text, resolved in the worker. */
export type DefMessage = [typeof DEF, fnId: number, name: string, src: string];
/** One `apply` task. */
export type CallMessage = [typeof CALL, taskId: number, fnId: number, args: unknown[]];
/** One `map` chunk. */
export type ChunkMessage = [
  typeof CHUNK,
  taskId: number,
  fnId: number,
  items: unknown[],
  star: 0 | 1,
];
/** Cancels a task; `reason` is the caller's abort reason, JSON-safe. */
export type CancelMessage = [typeof CANCEL, taskId: number, reason: WireError];
/** Any message the main thread sends to a worker's task stream. */
export type ToWorker = DefMessage | CallMessage | ChunkMessage | CancelMessage;
/**
 * A task's outcome; `runUs` is how long it ran in the worker (µs), when the
 * pool records stats.
 */
export type ToMain = [typeof OK, taskId: number, value: unknown, runUs?: number] | [
  typeof ERR,
  taskId: number,
  error: WireError,
  runUs?: number,
];

/** Everything a worker needs to start, sent once by postMessage. */
export interface InitMessage {
  t: "init";
  name: string;
  pid: number;
  /** The thread that started this one (Python's `parent_process()`). */
  parent: { name: string; pid: number };
  counters: SharedArrayBuffer;
  mainModule: string;
  modules: string[];
  initializer: [name: string, src: string] | null;
  initargs: unknown[];
  concurrency: number;
  toWorker: SharedArrayBuffer;
  toMain: SharedArrayBuffer;
  resultBell: SharedArrayBuffer;
  /** The worker's thread-control block (THREAD fields). */
  threadControl: SharedArrayBuffer;
  /** A Process: after its one task, close the connections it received (as a process's fds close). */
  oneShot: boolean;
  /** Whether to time each task (`runUs` in outcomes) for the pool's stats. */
  timing?: boolean;
  /** When set, write the heap's size to THREAD.HEAP_MB after each task (PoolOptions.maxHeapMb). */
  watchHeap?: boolean;
}

/** Control messages a worker posts to the main thread. */
export type WorkerControl =
  | { t: "ready" }
  | { t: "init-failed"; error: WireError }
  /** The worker called `close()` on itself: its tasks will not finish. */
  | { t: "closing" }
  /** An error escaped outside any task (node backend reports it here). */
  | { t: "fatal"; error: WireError }
  /** The worker called `Deno.exit(code)` (or `process.exit`): it is about to end. */
  | { t: "exit"; code: number };

/** Main → worker control: answer by bumping THREAD.PONG (see WorkerHandle.terminate). */
export interface PingMessage {
  t: "ping";
}

// The main thread's handle on one worker (of a Pool, or a Process): it starts the thread (a Web
// Worker, or a node:worker_threads Worker when tasks must be stoppable),
// batches task messages into the shared-memory ring, reads outcomes back, and
// turns every way a worker can die into one `onDeath` call.

import type { Worker as NodeWorker } from "node:worker_threads";
import type { FunctionRef } from "./_function_ref.ts";
import type { TaskScope } from "./_task_scope.ts";
import { isJsonSafe } from "./_json_safe.ts";
import { packNumbers } from "./_number_array.ts";
import {
  type CallMessage,
  CANCEL,
  type CancelMessage,
  CHUNK,
  type ChunkMessage,
  DEF,
  ERR,
  type InitMessage,
  OK,
  RING_BYTES,
  THREAD,
  type ToMain,
  type ToWorker,
  type WorkerControl,
} from "./_protocol.ts";
import { toWireError, type WireError } from "./_remote_error.ts";
import { Ring } from "./_ring.ts";
import { threadContext } from "./_context.ts";
import {
  type DirectoryMessage,
  lookupShared,
  relayShared,
  unpackShared,
} from "./_shared_registry.ts";

/** Where a task is (PendingTask.state). */
export const TaskState = {
  /** In the pool's queue, waiting for a worker. */
  QUEUED: 0,
  /** Held back by `maxQueue` until the queue has room (apply, the maps). */
  HELD: 1,
  /** Sent to a worker; its outcome has not arrived. */
  SENT: 2,
  /** Settled: its caller has the outcome. */
  DONE: 3,
  /** Cancelled while a worker held it: its caller has the reason, the worker may still run it. */
  CANCELLED: 4,
} as const;

/** A task as the pool tracks it until its outcome arrives. */
export interface PendingTask {
  readonly fn: FunctionRef;
  /** The wire message; its second field is the task id. */
  readonly message: CallMessage | ChunkMessage;
  /** Delivers the outcome; called exactly once. */
  readonly settle: (ok: boolean, value: unknown) => void;
  /** When it was sent to a worker (performance.now()). */
  sentAt: number;
  /** Tasks the worker held when this one was sent: they ran before it. */
  ahead: number;
  /** One of {@linkcode TaskState} (a Process's one task has none). */
  state?: number;
  /** When it was submitted (performance.now()), for the pool's wait times. */
  queuedAt?: number;
  /** The cancellation scope of its call (signal, timeout), if it has one. */
  scope?: TaskScope;
  /** Buffers its arguments move to the worker (see transfer()). */
  transfer?: ArrayBuffer[];
}

/** What a worker reports to its pool. */
export interface WorkerEvents {
  outcome(worker: WorkerHandle, outcome: ToMain): void;
  ready(worker: WorkerHandle): void;
  initFailed(worker: WorkerHandle, error: WireError): void;
  /** The worker ended by itself; `exitCode` when it called `Deno.exit(exitCode)`. */
  death(worker: WorkerHandle, reason: string, exitCode?: number): void;
}

/** Settings shared by all workers of a pool. */
export type WorkerSettings = Omit<
  InitMessage,
  "t" | "name" | "pid" | "parent" | "toWorker" | "toMain" | "threadControl"
>;

/** How long a worker may take to answer a ping at terminate() before it counts as stuck. */
const STUCK_MS = 1_000;

const WEB_ENTRY = new URL("./_worker.ts", import.meta.url);
const NODE_ENTRY = nodeEntry(new URL("./_worker_node.ts", import.meta.url));

/**
 * node:worker_threads takes file: and data: URLs only. Where the package is
 * served from elsewhere (https://jsr.io/...), a one-line data: module
 * imports the entry from there.
 */
function nodeEntry(url: URL): URL {
  if (url.protocol === "file:" || url.protocol === "data:") return url;
  return new URL(`data:text/javascript,import ${encodeURIComponent(JSON.stringify(url.href))};`);
}

/** The node:worker_threads Worker class. */
export type NodeWorkerClass = typeof NodeWorker;

let nodeWorkerClass: Promise<NodeWorkerClass> | undefined;

/**
 * Loads node:worker_threads on first use only: importing it costs ~7 ms,
 * which the default backend should not pay.
 */
export function loadNodeWorkerClass(): Promise<NodeWorkerClass> {
  nodeWorkerClass ??= import("node:worker_threads").then((m) => m.Worker);
  return nodeWorkerClass;
}

/** One worker thread of a pool, seen from the main thread. */
export class WorkerHandle {
  readonly name: string;
  readonly pid: number;
  /** Tasks sent to this worker whose outcome has not arrived. */
  readonly inflight: Map<number, PendingTask> = new Map();
  /** Tasks ever sent (for maxtasksperchild). */
  dispatched = 0;
  /** No more tasks go to a retiring worker; it stops once its tasks are done. */
  retiring = false;
  dead = false;
  /** Whether it reported "ready" (its modules imported, its initializer done). */
  ready = false;
  /** When it was started (performance.now()). */
  readonly startedAt: number = performance.now();
  /** When it last had no task left (performance.now()); for the elastic pool's idle timeout. */
  idleSince: number = this.startedAt;
  #events: WorkerEvents;
  #web?: Worker;
  #node?: NodeWorker;
  #toWorker = new Ring(RING_BYTES);
  #toMain = new Ring(RING_BYTES);
  #batch: ToWorker[] = [];
  /** Tasks whose arguments move buffers: they go by postMessage with their transfer list. */
  #moving: PendingTask[] = [];
  #flushing = false;
  #control = new Int32Array(new SharedArrayBuffer(THREAD.BYTES));
  #defined = new Set<number>();
  /** Whether the thread ended by itself (then nothing answers a ping). */
  #ended = false;

  /**
   * Starts the thread: a Web Worker, or a node worker when `NodeWorkerClass`
   * (from {@linkcode loadNodeWorkerClass}) is given.
   */
  constructor(
    NodeWorkerClass: NodeWorkerClass | undefined,
    identity: { pid: number; name: string; unref?: boolean },
    settings: WorkerSettings,
    events: WorkerEvents,
  ) {
    const pid = identity.pid;
    this.pid = pid;
    this.name = identity.name;
    this.#events = events;
    const init: InitMessage = {
      t: "init",
      name: this.name,
      pid,
      parent: { name: threadContext().name, pid: threadContext().pid },
      toWorker: this.#toWorker.buffer,
      toMain: this.#toMain.buffer,
      threadControl: this.#control.buffer as SharedArrayBuffer,
      ...settings,
    };
    if (NodeWorkerClass) {
      const thread = new NodeWorkerClass(NODE_ENTRY, { name: this.name } as object);
      thread.on("message", (m: unknown) => this.#receive(m));
      thread.on("error", (e: unknown) => this.#die(`raised an uncaught error: ${message(e)}`));
      thread.on("exit", (code: number) => this.#die(`exited with code ${code}`, code));
      try {
        thread.postMessage(init);
      } catch (error) {
        // The initargs cannot be cloned: no thread is left behind.
        thread.removeAllListeners("exit");
        thread.terminate();
        throw error;
      }
      // A daemon Process: the program may end while it runs (and ends it).
      if (identity.unref) thread.unref();
      this.#node = thread;
    } else {
      const thread = new Worker(WEB_ENTRY, { type: "module", name: this.name });
      thread.onmessage = (e) => this.#receive(e.data);
      thread.onerror = (e) => {
        // Handled here: an uncaught worker error must not end the program.
        e.preventDefault();
        this.#die(`raised an uncaught error outside its task: ${e.message}`);
      };
      thread.onmessageerror = () => this.#die("sent a message that could not be read");
      try {
        thread.postMessage(init);
      } catch (error) {
        thread.terminate(); // the initargs cannot be cloned: no thread is left behind
        throw error;
      }
      this.#web = thread;
    }
  }

  /** Queues a task for the next `flush()`. */
  send(task: PendingTask): void {
    const fn = task.fn;
    if (!this.#defined.has(fn.id)) {
      this.#defined.add(fn.id);
      this.#batch.push([DEF, fn.id, fn.name, fn.src]);
    }
    this.inflight.set(task.message[1], task);
    this.dispatched++;
    if (task.transfer === undefined) this.#batch.push(task.message);
    else this.#moving.push(task);
  }

  /**
   * Tells the worker its caller gave up on `task` (sent earlier). Through the
   * ring, whichever way the task went: a postMessage reaches a worker whose
   * event loop is busy later, and the ring wakes it in ~50 µs. A cancel that
   * overtakes its task (sent by postMessage) waits for it in the worker.
   */
  cancel(task: PendingTask, reason: WireError): void {
    const message: CancelMessage = [CANCEL, task.message[1], reason];
    this.#batch.push(message);
    this.flush();
  }

  /** The worker's heap in MiB after its last task (written only when the pool watches it). */
  heapMb(): number {
    return Atomics.load(this.#control, THREAD.HEAP_MB);
  }

  /** Sends the queued messages: JSON-safe ones through the ring, the rest by postMessage. */
  flush(): void {
    // A send error settles a task from inside #post, and the caller's code
    // may then cancel another task, which flushes: that cancel must not reach
    // the ring before the batch being written, whose task it may follow.
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#batch.length > 0 || this.#moving.length > 0) this.#flushOnce();
    } finally {
      this.#flushing = false;
    }
  }

  #flushOnce(): void {
    if (this.#moving.length > 0) {
      const moving = this.#moving;
      this.#moving = [];
      for (const task of moving) this.#post(task.message, task.transfer);
    }
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const safe: ToWorker[] = [];
    for (const m of batch) {
      const packed = m[0] === CHUNK ? packNumbers(m[3]) : undefined;
      if (packed) {
        const [, id, fnId, , star] = m as ChunkMessage;
        this.#post([CHUNK, id, fnId, packed as unknown as unknown[], star], [packed.buffer]);
      } else if (isJsonSafe(m)) {
        safe.push(m);
      } else {
        // Shared objects (queues, locks, ...) among task arguments were
        // packed to their state when the task was submitted (_pool_engine.ts).
        this.#post(m);
      }
    }
    if (safe.length > 0 && !this.#toWorker.write(JSON.stringify(safe))) {
      for (const m of safe) this.#post(m);
    }
    this.#toWorker.ring();
  }

  /** Delivers every outcome waiting in the ring. */
  drain(): void {
    for (let text = this.#toMain.read(); text !== undefined; text = this.#toMain.read()) {
      for (const outcome of JSON.parse(text) as ToMain[]) this.#events.outcome(this, outcome);
    }
  }

  /**
   * Stops the thread, never inside a shared-memory critical section (see
   * _context.ts); resolves when it is gone.
   *
   * A Web Worker stuck in a synchronous loop cannot be stopped (Deno's
   * terminate() waits for its event loop), and keeps the program alive. With
   * `onStuck`, a web worker that runs tasks is asked first whether its event
   * loop is free: one that does not answer within STUCK_MS is stuck, and
   * `onStuck` runs before it is terminated (as far as it can be).
   */
  async terminate(onStuck?: () => void): Promise<void> {
    this.dead = true;
    Atomics.store(this.#control, THREAD.STOP, 1);
    const running = Atomics.load(this.#control, THREAD.RUNNING) === 1;
    if (onStuck && this.#web && running && !this.#ended) {
      if (!(await this.#answers())) onStuck();
    }
    // Critical sections last a copy at most; the bound is for safety only.
    const until = performance.now() + 5_000;
    while (Atomics.load(this.#control, THREAD.CRITICAL) > 0 && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (this.#web) this.#web.terminate();
    if (this.#node) {
      this.#node.removeAllListeners("exit");
      this.#node.removeAllListeners("error");
      this.#node.on("error", () => {});
      await this.#node.terminate();
    }
  }

  /** Pings the worker; whether it answers within STUCK_MS. */
  async #answers(): Promise<boolean> {
    const cells = this.#control;
    const seen = Atomics.load(cells, THREAD.PONG);
    this.#web!.postMessage({ t: "ping" });
    const wait = Atomics.waitAsync(cells, THREAD.PONG, seen);
    if (!wait.async) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timed-out">((resolve) => {
      const t = setTimeout(() => resolve("timed-out"), STUCK_MS);
      // Not a reason to keep the program alive: the worker is, while it lives.
      Deno.unrefTimer(t);
      timer = t;
    });
    const result = await Promise.race([wait.value, timedOut]);
    clearTimeout(timer);
    if (result === "timed-out") Atomics.notify(cells, THREAD.PONG); // release the waitAsync
    return Atomics.load(cells, THREAD.PONG) !== seen;
  }

  #postControl(m: unknown): void {
    if (this.#web) this.#web.postMessage(m);
    else this.#node!.postMessage(m);
  }

  #post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (m[0] === CANCEL) return this.#postCancel(m);
    try {
      if (this.#web) this.#web.postMessage(m, transfer);
      else this.#node!.postMessage(m, transfer);
    } catch (error) {
      // Only task messages can fail to clone (their arguments).
      const id = m[1];
      const fnName = this.inflight.get(id)?.fn.name ?? "task";
      const sendError = new TypeError(
        `Cannot send the arguments of task '${fnName}' to a worker: ${message(error)}`,
      );
      this.#events.outcome(this, [ERR, id, toWireError(sendError)]);
    }
  }

  /** A cancel that did not fit the ring; its reason is JSON-safe, so it always clones. */
  #postCancel(m: CancelMessage): void {
    if (this.dead) return;
    if (this.#web) this.#web.postMessage(m);
    else this.#node!.postMessage(m);
  }

  #receive(m: unknown): void {
    if (Array.isArray(m)) {
      // A single outcome (values JSON cannot carry) or a batch that did not fit the ring.
      if (Array.isArray(m[0])) {
        for (const o of m as ToMain[]) this.#events.outcome(this, o);
      } else {
        const outcome = m as ToMain;
        if (outcome[0] === OK) outcome[2] = unpackShared(outcome[2]);
        this.#events.outcome(this, outcome);
      }
      return;
    }
    const control = m as WorkerControl | DirectoryMessage;
    switch (control.t) {
      case "share":
        relayShared(control.id, control.type, control.state);
        break;
      case "lookup":
        lookupShared(control.id, (type, state) => {
          if (!this.dead) this.#postControl({ t: "shared", id: control.id, type, state });
        });
        break;
      case "ready":
        this.ready = true;
        this.#events.ready(this);
        break;
      case "init-failed":
        this.#events.initFailed(this, control.error);
        break;
      case "closing":
        this.#die("closed itself");
        break;
      case "fatal":
        this.#die(`raised an uncaught error outside its task: ${control.error.message}`);
        break;
      case "exit":
        this.#die(`exited with code ${control.code}`, control.code);
        break;
    }
  }

  #die(reason: string, exitCode?: number): void {
    if (this.dead) return;
    // Outcomes already in the ring were completed before the death: keep them.
    this.drain();
    this.dead = true;
    this.#ended = true;
    this.#web?.terminate();
    this.#node?.terminate().catch(() => {});
    this.#events.death(this, reason, exitCode);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

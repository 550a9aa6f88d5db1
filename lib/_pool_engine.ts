// The pool's engine: the task queue, dispatch to workers, the outcome path
// back to the callers, worker replacement, and the INIT/RUN/CLOSE/TERMINATE
// lifecycle checked in one place (as CPython's pool does).
//
// Dispatch: each worker holds at most `window` tasks. While tasks take long,
// the window is `concurrency`, so an idle worker always gets the next task
// (Python's behaviour). Short tasks are prefetched, up to about QUEUE_MS of
// work per worker, so batches of trivial tasks keep every worker busy instead
// of waiting for a round trip per task.
//
// Starting: `new Worker()` blocks the main thread for ~15 ms on Deno (the
// isolate is created there), so the first worker starts at once and the
// others one per event-loop turn: each as soon as the previous one is ready
// (or, if that one has results on the way, once they are in), or at once
// when tasks are waiting for a worker. The first result comes back without
// waiting for the whole pool to be built.
//
// Waking: workers bump one shared result bell after writing outcomes. The
// main thread waits on it with Atomics.waitAsync (its event loop never
// blocks); right after dispatching a few tasks it also polls the bell for up
// to SPIN_MS, since an answer usually comes within that and waitAsync adds
// ~40 µs of wake-up latency on Deno.

import type { FunctionRef } from "./_function_ref.ts";
import { CALL, CHUNK, ERR, OK, type ToMain } from "./_protocol.ts";
import { discardShared, packShared } from "./_shared_registry.ts";
import {
  loadNodeWorkerClass,
  type NodeWorkerClass,
  type PendingTask,
  WorkerHandle,
  type WorkerSettings,
} from "./_worker_handle.ts";
import { fromWireError, type WireError } from "./_remote_error.ts";
import { describeValue } from "./_timeout.ts";
import { nextPid } from "./_context.ts";
import type { PoolBackend } from "./pool.ts";

const QUEUE_MS = 2;
const MAX_PREFETCH = 256;
const SPIN_MS = 0.05;

/** The lifecycle states, as in CPython's pool. */
type State = "run" | "close" | "terminate" | "broken";

/** What the engine needs to know to start workers. */
export interface EngineConfig {
  processes: number;
  backend: PoolBackend;
  concurrency: number;
  maxtasksperchild: number | undefined;
  /**
   * The initializer's arguments, shared objects among them still live: each
   * worker gets them reduced for itself (see #initargsFor).
   */
  initargs: unknown[];
  settings: Omit<WorkerSettings, "resultBell" | "oneShot" | "initargs">;
}

/** Runs tasks on a set of workers; the Pool facade is its only user. */
export class PoolEngine {
  #config: EngineConfig;
  #settings: Omit<WorkerSettings, "initargs">;
  /** The initial workers' initargs, reduced when the pool was made (see #initargsFor). */
  #initPacks: unknown[][];
  /** Callers of join() waiting for the workers to start (see #whenStarted). */
  #started: (() => void)[] = [];
  /** Whether the stuck-worker warning was printed (once per pool). */
  #warnedStuck = false;
  /** True while the constructor starts the first worker. */
  #constructing = false;
  #workers: WorkerHandle[] = [];
  #queue: PendingTask[] = [];
  #queueHead = 0;
  #nextTaskId = 1;
  #outstanding = 0;
  #state: State = "run";
  #brokenError: Error | undefined;
  #bell = new Int32Array(new SharedArrayBuffer(4));
  #dispatchScheduled = false;
  #waiting = false;
  /** Estimated time a worker spends on one task (EWMA); Infinity until measured. */
  #serviceMs = Infinity;
  #idle: (() => void)[] = [];
  #stopped: Promise<void> | undefined;
  /** Workers still to start to reach `processes`. */
  #toSpawn: number;
  #spawnTimer: ReturnType<typeof setTimeout> | undefined;
  /** A worker whose results come before the next worker starts (see #onReady). */
  #spawnAfter: WorkerHandle | undefined;
  #loadingNode = false;
  #nodeWorkerClass: NodeWorkerClass | undefined;

  constructor(config: EngineConfig) {
    this.#config = config;
    this.#settings = {
      ...config.settings,
      resultBell: this.#bell.buffer as SharedArrayBuffer,
      oneShot: false,
    };
    this.#toSpawn = config.processes;
    // Reduced now, as Python's workers inherit them when the pool starts:
    // the caller may drop its own handles (close a Connection) right away.
    this.#initPacks = config.settings.initializer
      ? Array.from({ length: config.processes }, () => packShared(config.initargs) as unknown[])
      : [];
    this.#constructing = true;
    try {
      this.#spawnNext(true);
    } finally {
      this.#constructing = false;
    }
  }

  /** `"run"`, `"close"`, `"terminate"` or `"broken"`. */
  get state(): State {
    return this.#state;
  }

  /** Throws unless new tasks are accepted; `action` names what was attempted. */
  checkRunning(action: string): void {
    if (this.#state === "run") return;
    if (this.#state === "broken") {
      throw new Error(`Cannot ${action}: the pool is broken`, { cause: this.#brokenError });
    }
    throw new Error(
      `Cannot ${action}: the pool is ${this.#state === "close" ? "closed" : "terminated"}`,
    );
  }

  /**
   * Queues `fn(...args)`; `settle` receives its outcome exactly once.
   *
   * Shared objects among the arguments are reduced now, not when a worker
   * is free: the task holds them as they are at submit time, so the caller
   * may close its own handle of a Connection right after submitting (as a
   * Python process may close its copy of an fd it passed on).
   */
  submitCall(fn: FunctionRef, args: unknown[], settle: PendingTask["settle"]): void {
    const packed = packShared(args) as unknown[];
    const id = this.#nextTaskId++;
    this.#enqueue({ fn, message: [CALL, id, fn.id, packed], settle, sentAt: 0, ahead: 0 });
  }

  /** Queues `fn` over `items` (spread when `star`) as one task. */
  submitChunk(
    fn: FunctionRef,
    items: unknown[],
    star: boolean,
    settle: PendingTask["settle"],
  ): void {
    const packed = packShared(items) as unknown[];
    const id = this.#nextTaskId++;
    this.#enqueue({
      fn,
      message: [CHUNK, id, fn.id, packed, star ? 1 : 0],
      settle,
      sentAt: 0,
      ahead: 0,
    });
  }

  #enqueue(task: PendingTask): void {
    this.#queue.push(task);
    this.#outstanding++;
    this.#scheduleDispatch();
  }

  /** No new tasks; queued ones still run. */
  close(): void {
    if (this.#state === "run") this.#state = "close";
  }

  /** Resolves when every submitted task has settled. */
  #whenIdle(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Waits for queued tasks to finish, then stops the workers. With an
   * initializer it also waits until every worker has started and run it:
   * Python starts all workers with the pool, so `close()` right after
   * construction still runs the initializer once per worker.
   */
  async join(): Promise<void> {
    if (this.#state === "run") {
      throw new Error("Cannot join the pool: call close() or terminate() first");
    }
    await this.#whenIdle();
    if (this.#config.settings.initializer) await this.#whenStarted();
    await this.#stopWorkers();
  }

  /** Stops the workers now; unfinished tasks fail. */
  async terminate(): Promise<void> {
    // What each worker runs now, for the warning about a stuck one.
    const busy = new Map<WorkerHandle, string>();
    for (const worker of this.#workers) {
      const task = worker.inflight.values().next().value;
      if (task) busy.set(worker, task.fn.name);
    }
    if (this.#state !== "terminate" && this.#state !== "broken") {
      this.#state = "terminate";
      this.#failAll(() => new Error("The pool was terminated before the task finished"));
    }
    await this.#stopWorkers(busy);
  }

  #stopWorkers(busy?: Map<WorkerHandle, string>): Promise<void> {
    this.#toSpawn = 0;
    clearTimeout(this.#spawnTimer);
    this.#spawnTimer = undefined;
    // Workers never started let go of their reduced initargs (a Connection's reference).
    for (const pack of this.#initPacks.splice(0)) discardShared(pack);
    this.#checkStarted();
    this.#stopped ??= (async () => {
      const workers = this.#workers;
      this.#workers = [];
      await Promise.all(workers.map((w) => {
        const task = busy?.get(w);
        return w.terminate(task === undefined ? undefined : () => this.#warnStuck(w, task));
      }));
      this.#wake();
    })();
    return this.#stopped;
  }

  /** Prints, once per pool, that a worker stuck in a loop keeps the program alive. */
  #warnStuck(worker: WorkerHandle, task: string): void {
    if (this.#warnedStuck) return;
    this.#warnedStuck = true;
    console.warn(
      `Warning: pool worker ${worker.name} (pid ${worker.pid}) did not stop within 1 s of ` +
        `terminate(): task '${task}' seems stuck in a synchronous loop, which a Web Worker ` +
        `cannot be stopped in, so the program may never exit. Use backend: "node" for tasks ` +
        `that may hang: its terminate() stops them.`,
    );
  }

  /** Resolves once every worker to start has started and run its initializer (or died). */
  #whenStarted(): Promise<void> {
    return new Promise((resolve) => {
      this.#started.push(resolve);
      this.#checkStarted();
    });
  }

  #checkStarted(): void {
    if (this.#started.length === 0) return;
    const stopping = this.#state === "terminate" || this.#state === "broken";
    if (!stopping && (this.#toSpawn > 0 || this.#workers.some((w) => !w.ready && !w.dead))) {
      return;
    }
    const started = this.#started;
    this.#started = [];
    for (const resolve of started) resolve();
  }

  /**
   * The initargs a new worker gets: an initial worker's were reduced with the
   * pool; a replacement's are reduced now.
   */
  #initargsFor(): unknown[] {
    if (!this.#config.settings.initializer) return [];
    return this.#initPacks.pop() ?? packShared(this.#config.initargs) as unknown[];
  }

  /** Starts the next missing worker, now or on the next event-loop turn. */
  #spawnNext(now = false): void {
    if (this.#toSpawn === 0 || this.#spawnTimer !== undefined || this.#loadingNode) return;
    if (this.#config.backend === "node" && !this.#nodeWorkerClass) {
      this.#loadingNode = true;
      loadNodeWorkerClass().then((NodeWorker) => {
        this.#nodeWorkerClass = NodeWorker;
        this.#loadingNode = false;
        this.#spawnNext(true);
      });
      return;
    }
    if (now) return this.#spawnOne();
    this.#spawnTimer = setTimeout(() => {
      this.#spawnTimer = undefined;
      this.#spawnOne();
    }, 0);
  }

  #spawnOne(): void {
    if (this.#toSpawn === 0) return;
    this.#toSpawn--;
    const pid = nextPid();
    const initargs = this.#initargsFor();
    let worker: WorkerHandle;
    try {
      worker = new WorkerHandle(
        this.#nodeWorkerClass,
        { pid, name: `PoolWorker-${pid}` },
        { ...this.#settings, initargs },
        {
          outcome: (w, o) => this.#onOutcome(w, o),
          ready: (w) => this.#onReady(w),
          initFailed: (w, e) => this.#onInitFailed(w, e),
          death: (w, reason) => this.#onDeath(w, reason),
        },
      );
    } catch (error) {
      // The initargs cannot travel (a value structured clone refuses).
      discardShared(initargs);
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (this.#constructing) {
        // The first worker starts in the constructor: fail there, as Python's Pool() raises.
        for (const pack of this.#initPacks.splice(0)) discardShared(pack);
        throw new TypeError(
          `Cannot create pool: 'initargs' cannot be sent to a worker (${reason})`,
          { cause: error },
        );
      }
      return this.#break(
        `Pool worker PoolWorker-${pid} could not start: its initargs cannot be sent`,
        error,
      );
    }
    this.#workers.push(worker);
    this.#scheduleDispatch();
    if (this.#queueHead < this.#queue.length) this.#spawnNext();
  }

  /**
   * A worker is up: start the next one, or, when this one has results on the
   * way and no task waits for a worker, once they are in. A constructor
   * blocks this thread for ~15 ms, and would hold them up: the first result
   * of a new pool came ~10 ms later for it.
   */
  #onReady(worker: WorkerHandle): void {
    this.#checkStarted();
    if (worker.inflight.size > 0 && this.#queueHead >= this.#queue.length) {
      this.#spawnAfter = worker;
    } else {
      this.#spawnNext();
    }
  }

  /** Starts the next worker if it waited for `worker`'s results (see #onReady). */
  #spawnDeferred(worker: WorkerHandle): void {
    if (this.#spawnAfter !== worker || worker.inflight.size > 0) return;
    this.#spawnAfter = undefined;
    // After the callers' continuations that the results just queued (and
    // not by setTimeout: a thread's first timer costs 5-14 ms here).
    queueMicrotask(() => this.#spawnNext(true));
  }

  /** Replaces a worker that died or retired, unless the pool is stopping. */
  #replace(): void {
    if (this.#state === "terminate" || this.#state === "broken") return;
    if (this.#state === "close" && this.#queueHead >= this.#queue.length) return;
    this.#toSpawn++;
    this.#spawnNext(true);
  }

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => this.#dispatch());
  }

  /** Tasks a worker may hold: enough to keep it busy for about QUEUE_MS. */
  #window(): number {
    const prefetch = Math.min(MAX_PREFETCH, Math.floor(QUEUE_MS / this.#serviceMs));
    return this.#config.concurrency + prefetch;
  }

  #dispatch(): void {
    this.#dispatchScheduled = false;
    if (this.#state === "terminate" || this.#state === "broken") return;
    const window = this.#window();
    const max = this.#config.maxtasksperchild;
    const now = performance.now();
    let sent = 0;
    // Round-robin, one task per worker per pass, so work spreads evenly.
    for (let progress = true; progress && this.#queueHead < this.#queue.length;) {
      progress = false;
      for (const worker of this.#workers) {
        if (this.#queueHead >= this.#queue.length) break;
        if (worker.dead || worker.retiring || worker.inflight.size >= window) continue;
        const task = this.#queue[this.#queueHead];
        this.#queue[this.#queueHead++] = undefined as unknown as PendingTask;
        task.sentAt = now;
        task.ahead = worker.inflight.size;
        worker.send(task);
        if (max !== undefined && worker.dispatched >= max) worker.retiring = true;
        progress = true;
        sent++;
      }
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else {
      this.#spawnNext(); // tasks are waiting: start the missing workers now
    }
    if (sent === 0) return;
    for (const worker of this.#workers) worker.flush();
    if (this.#outstanding <= this.#workers.length * this.#config.concurrency) this.#spin();
    this.#arm();
  }

  /** Polls the result bell briefly: cheaper than a waitAsync wake-up for quick answers. */
  #spin(): void {
    const seen = Atomics.load(this.#bell, 0);
    const until = performance.now() + SPIN_MS;
    while (performance.now() < until) {
      if (Atomics.load(this.#bell, 0) !== seen) {
        this.#drainAll();
        return;
      }
    }
  }

  /** Waits (without blocking) for the next result bell while tasks are outstanding. */
  #arm(): void {
    if (this.#waiting || this.#outstanding === 0) return;
    // Read the bell before draining: an outcome written after the drain changes
    // the bell, so waitAsync returns at once instead of missing it.
    const seen = Atomics.load(this.#bell, 0);
    this.#drainAll();
    if (this.#outstanding === 0) return;
    this.#waiting = true;
    const wait = Atomics.waitAsync(this.#bell, 0, seen);
    const onBell = () => {
      this.#waiting = false;
      this.#arm();
    };
    if (wait.async) wait.value.then(onBell);
    else queueMicrotask(onBell);
  }

  #wake(): void {
    Atomics.add(this.#bell, 0, 1);
    Atomics.notify(this.#bell, 0);
  }

  #drainAll(): void {
    const workers = this.#workers;
    for (let i = 0; i < workers.length; i++) {
      const worker = workers[i];
      worker.drain();
      // Its outcome may have retired it (maxtasksperchild), which takes it out
      // of the list: the next worker is now at i. Skipping it lost its
      // outcome, whose bell was already seen, and join() hung (Python's
      // issue #10332). An index loop, not a copy: this runs at every wake-up.
      if (workers[i] !== worker) i--;
    }
  }

  #onOutcome(worker: WorkerHandle, [kind, id, value]: ToMain): void {
    const task = worker.inflight.get(id);
    if (!task) return;
    worker.inflight.delete(id);
    // The tasks ahead of it ran first: share the wait among them.
    const service = (performance.now() - task.sentAt) / (task.ahead + 1);
    this.#serviceMs = this.#serviceMs === Infinity
      ? service
      : this.#serviceMs * 0.9 + service * 0.1;
    if (worker.retiring && worker.inflight.size === 0) this.#retire(worker);
    this.#settle(task, kind === OK, kind === ERR ? fromWireError(value as WireError) : value);
    this.#spawnDeferred(worker);
    this.#scheduleDispatch();
  }

  #settle(task: PendingTask, ok: boolean, value: unknown): void {
    this.#outstanding--;
    task.settle(ok, value);
    if (this.#outstanding === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** maxtasksperchild reached and its tasks done: replace the worker. */
  #retire(worker: WorkerHandle): void {
    this.#remove(worker);
    worker.terminate();
    this.#replace();
  }

  #remove(worker: WorkerHandle): void {
    const i = this.#workers.indexOf(worker);
    if (i >= 0) this.#workers.splice(i, 1);
  }

  #onDeath(worker: WorkerHandle, reason: string): void {
    if (!worker.ready) {
      // It died while importing the task modules or running the initializer
      // (Deno.exit() there, say): a replacement would do the same, for ever.
      // ("ready" comes before any outcome or exit of a task: one port, in order.)
      return this.#break(
        `Pool worker ${worker.name} could not start: it ${reason} while importing the task ` +
          `modules or running the initializer`,
        undefined,
      );
    }
    this.#remove(worker);
    const lost = [...worker.inflight.values()];
    worker.inflight.clear();
    this.#spawnDeferred(worker);
    this.#replace();
    this.#checkStarted();
    for (const task of lost) {
      this.#settle(
        task,
        false,
        new Error(
          `Worker ${worker.name} (pid ${worker.pid}) ${reason}; task '${task.fn.name}' did not ` +
            `finish. The pool replaced the worker.`,
        ),
      );
    }
    this.#wake();
    this.#scheduleDispatch();
  }

  #onInitFailed(worker: WorkerHandle, wire: WireError): void {
    this.#break(
      `Pool worker ${worker.name} could not start (importing the task modules or running the ` +
        `initializer failed)`,
      fromWireError(wire),
    );
  }

  /** The pool cannot go on: every task fails with `what` and its cause. */
  #break(what: string, cause: unknown): void {
    if (this.#state === "broken" || this.#state === "terminate") return;
    const text = cause === undefined
      ? ""
      : `: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : describeValue(cause)}`;
    this.#brokenError = new Error(`${what}${text}`, { cause });
    this.#state = "broken";
    const error = this.#brokenError;
    this.#failAll(() => error);
    this.#stopWorkers();
  }

  #failAll(error: () => Error): void {
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    for (const task of queued) {
      discardShared(task.message[3]); // never sent: its shared arguments let go
      this.#settle(task, false, error());
    }
    for (const worker of this.#workers) {
      const inflight = [...worker.inflight.values()];
      worker.inflight.clear();
      for (const task of inflight) this.#settle(task, false, error());
    }
  }
}

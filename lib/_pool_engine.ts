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
// Pool control: a task with a signal or timeout belongs to a TaskScope (one
// per call); when it fires, a queued task leaves the queue at once and a sent
// one is CANCELled in its worker, its caller rejected at once, and its worker
// replaced (its other tasks re-queued) if the task has not settled
// cancelGraceMs later. Elastic pools grow one worker at a time while tasks
// wait and every worker is up, and retire workers above minProcesses idle for
// idleTimeout (one unref'd timer per pool, never one per task). `maxQueue`
// bounds the queue: applyAsync throws Full, apply and the maps hold their
// tasks back (HELD) until there is room.
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
  TaskState,
  WorkerHandle,
  type WorkerSettings,
} from "./_worker_handle.ts";
import { fromWireError, type WireError } from "./_remote_error.ts";
import { after, describeValue, MAX_DELAY } from "./_timeout.ts";
import { nextPid } from "./_context.ts";
import { isJsonSafe } from "./_json_safe.ts";
import { StatsRecorder } from "./_pool_stats.ts";
import type { TaskScope } from "./_task_scope.ts";
import { takeTransfers } from "./_transfer_marks.ts";
import type { PoolBackend, PoolStats } from "./pool.ts";

const { QUEUED, HELD, SENT, DONE, CANCELLED } = TaskState;

const QUEUE_MS = 2;
const MAX_PREFETCH = 256;
const SPIN_MS = 0.05;

/** The lifecycle states, as in CPython's pool. */
type State = "run" | "close" | "terminate" | "broken";

/** What the engine needs to know to start workers. */
export interface EngineConfig {
  processes: number;
  /** Workers kept while idle (elastic when below `processes`). */
  minProcesses: number;
  /** Ms an idle worker above minProcesses lives; undefined: for ever. */
  idleTimeout: number | undefined;
  /** Tasks that may wait for a worker (Infinity: no bound). */
  maxQueue: number;
  /** A worker whose heap is above this many MiB after a task is replaced. */
  maxHeapMb: number | undefined;
  /** Ms a cancelled running task has to settle before its worker is replaced; undefined: for ever. */
  cancelGraceMs: number | undefined;
  /** Whether to time tasks (stats' runTime, waitTime, utilization). */
  stats: boolean;
  backend: PoolBackend;
  concurrency: number;
  maxtasksperchild: number | undefined;
  /**
   * The initializer's arguments, shared objects among them still live: each
   * worker gets them reduced for itself (see #initargsFor).
   */
  initargs: unknown[];
  settings: Omit<WorkerSettings, "resultBell" | "oneShot" | "initargs" | "timing" | "watchHeap">;
}

/** Runs tasks on a set of workers; the Pool facade is its only user. */
export class PoolEngine {
  #config: EngineConfig;
  // Read on every task: fields of their own, not loads through #config.
  #maxQueue: number;
  #timing: boolean;
  #maxHeapMb: number | undefined;
  /** Whether idle workers above minProcesses exit (minProcesses < processes). */
  #elastic: boolean;
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
  /** Tasks waiting for a worker, from #queueHead on; cancelled ones stay as DONE tombstones. */
  #queue: PendingTask[] = [];
  #queueHead = 0;
  /** QUEUED tasks in #queue (tombstones aside). */
  #queued = 0;
  /** Tasks held back by maxQueue (apply, the maps), from #heldHead on; FIFO. */
  #held: PendingTask[] = [];
  #heldHead = 0;
  /** HELD tasks in #held. */
  #heldCount = 0;
  /** Callers of waitForRoom(). */
  #roomWaiters: (() => void)[] = [];
  /** A look for room after woken waiters had their turn (see #admit). */
  #roomRecheck: ReturnType<typeof setTimeout> | undefined;
  /** Cancelled tasks still running, and the timer that replaces their worker. */
  #graceTimers = new Map<PendingTask, () => void>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #stats = new StatsRecorder();
  /** Worker-ms of the workers gone (for utilization). */
  #retiredWorkerMs = 0;
  /** A recent performance.now() for submit times, and how often it was reused (see #clock). */
  #clockValue = 0;
  #clockUses = 0;
  #nextTaskId = 1;
  /** Submitted tasks whose caller has no outcome yet. */
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
    this.#maxQueue = config.maxQueue;
    this.#timing = config.stats;
    this.#maxHeapMb = config.maxHeapMb;
    this.#elastic = config.minProcesses < config.processes;
    this.#settings = {
      ...config.settings,
      resultBell: this.#bell.buffer as SharedArrayBuffer,
      oneShot: false,
      timing: config.stats,
      watchHeap: config.maxHeapMb !== undefined,
    };
    this.#toSpawn = config.minProcesses;
    // Reduced now, as Python's workers inherit them when the pool starts:
    // the caller may drop its own handles (close a Connection) right away.
    this.#initPacks = config.settings.initializer
      ? Array.from({ length: config.processes }, () => packShared(config.initargs) as unknown[])
      : [];
    if (this.#toSpawn === 0 && this.#initPacks.length > 0) {
      // No worker starts now (minProcesses 0): find initargs that cannot
      // travel here, as the first worker's start would.
      try {
        structuredClone(this.#initPacks[0]);
      } catch (error) {
        for (const pack of this.#initPacks.splice(0)) discardShared(pack);
        throw initargsError(error);
      }
    }
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
  submitCall(
    fn: FunctionRef,
    args: unknown[],
    settle: PendingTask["settle"],
    scope?: TaskScope,
  ): void {
    const packed = packShared(args) as unknown[];
    const id = this.#nextTaskId++;
    this.#enqueue({
      fn,
      message: [CALL, id, fn.id, packed],
      settle,
      sentAt: 0,
      ahead: 0,
      state: QUEUED,
      queuedAt: this.#timing ? this.#clock() : 0,
      scope,
      transfer: takeTransfers(args),
    });
  }

  /** Queues `fn` over `items` (spread when `star`) as one task. */
  submitChunk(
    fn: FunctionRef,
    items: unknown[],
    star: boolean,
    settle: PendingTask["settle"],
    scope?: TaskScope,
  ): void {
    const packed = packShared(items) as unknown[];
    const id = this.#nextTaskId++;
    this.#enqueue({
      fn,
      message: [CHUNK, id, fn.id, packed, star ? 1 : 0],
      settle,
      sentAt: 0,
      ahead: 0,
      state: QUEUED,
      queuedAt: this.#timing ? this.#clock() : 0,
      scope,
      transfer: takeTransfers(items),
    });
  }

  /**
   * performance.now() for a submit time. It costs ~90 ns here, a good part
   * of a trivial task's submit, so a burst of submits in one synchronous run
   * (no dispatch between them) shares one reading, renewed every 256 submits:
   * a submit time is then off by at most 256 submits' time.
   */
  #clock(): number {
    if (!this.#dispatchScheduled || ++this.#clockUses === 256) {
      this.#clockUses = 0;
      this.#clockValue = performance.now();
    }
    return this.#clockValue;
  }

  /** Whether a task submitted now would wait in the queue, not be held back (maxQueue). */
  hasRoom(): boolean {
    return this.#queued < this.#maxQueue && this.#heldCount === 0;
  }

  /** Resolves when the queue has room (at once when it has). */
  waitForRoom(): Promise<void> {
    if (this.hasRoom() || this.#state !== "run") return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /**
   * Queues a task, or holds it back while the queue is full (the caller
   * checked hasRoom() where a full queue must throw instead).
   */
  #enqueue(task: PendingTask): void {
    this.#outstanding++;
    if (task.scope) {
      // Its call was aborted while earlier chunks were being submitted.
      if (task.scope.aborted) return this.#dropUnsent(task, task.scope.reason);
      task.scope.tasks.add(task);
    }
    if (this.#queued >= this.#maxQueue || this.#heldCount > 0) {
      task.state = HELD;
      this.#held.push(task);
      this.#heldCount++;
      return;
    }
    this.#queue.push(task);
    this.#queued++;
    this.#scheduleDispatch();
  }

  /**
   * Moves held tasks into the queue while it has room, then wakes callers
   * of waitForRoom(), as many as there are free places (each will submit).
   */
  #admit(): void {
    const max = this.#config.maxQueue;
    let moved = false;
    while (this.#heldCount > 0 && this.#queued < max) {
      const task = this.#held[this.#heldHead];
      this.#held[this.#heldHead++] = undefined as unknown as PendingTask;
      if (task.state !== HELD) continue; // cancelled while held
      task.state = QUEUED;
      this.#heldCount--;
      this.#queue.push(task);
      this.#queued++;
      moved = true;
    }
    if (this.#heldHead === this.#held.length) {
      this.#held = [];
      this.#heldHead = 0;
    }
    if (moved) this.#scheduleDispatch();
    if (this.#heldCount > 0) return;
    const free = max - this.#queued;
    const woken = this.#roomWaiters.splice(0, free > 0 ? free : 0);
    for (const resolve of woken) resolve();
    // A woken caller need not submit (waitForRoom() reserves no place): once
    // the woken ones have had their turn, look again, or the others would
    // wait for a dispatch that may never come.
    if (woken.length > 0 && this.#roomWaiters.length > 0 && this.#roomRecheck === undefined) {
      this.#roomRecheck = setTimeout(() => {
        this.#roomRecheck = undefined;
        if (this.#state === "run") this.#admit();
      }, 0);
    }
  }

  /**
   * Cancels `task` with `reason` (its call's signal aborted or timeout
   * passed): a task still waiting leaves at once; a sent one is cancelled in
   * its worker, which is replaced if the task has not settled cancelGraceMs
   * later. Either way its caller gets `reason` now.
   */
  cancel(task: PendingTask, reason: unknown): void {
    const state = task.state;
    if (state === QUEUED || state === HELD) {
      if (state === QUEUED) this.#queued--;
      else this.#heldCount--;
      this.#dropUnsent(task, reason);
      if (this.#heldCount > 0 || this.#roomWaiters.length > 0) this.#admit();
      return;
    }
    if (state !== SENT) return; // settled already
    const worker = this.#workers.find((w) => w.inflight.get(task.message[1]) === task);
    task.state = CANCELLED;
    this.#stats.cancelled++;
    if (worker) {
      // The worker first: its taskSignal() fires while the caller's code runs here.
      worker.cancel(task, cancelWire(reason));
      const grace = this.#config.cancelGraceMs;
      if (grace !== undefined) {
        this.#graceTimers.set(task, after(grace, () => this.#graceOver(worker, task)));
      }
    }
    // Last: an errorCallback runs here, and may terminate the pool (which clears the timer).
    this.#deliver(task, false, reason);
  }

  /** Cancels every task of `scope` not settled yet (a whole map, say). */
  cancelScope(scope: TaskScope): void {
    for (const task of [...scope.tasks]) this.cancel(task, scope.reason);
  }

  /** A task that never reached a worker is cancelled: it lets go of its shared arguments. */
  #dropUnsent(task: PendingTask, reason: unknown): void {
    discardShared(task.message[3]);
    this.#stats.cancelled++;
    this.#settle(task, false, reason);
  }

  /** No new tasks; queued ones still run. */
  close(): void {
    if (this.#state === "run") this.#state = "close";
    this.#wakeRoomWaiters(); // they would wait for ever: their submit will throw
  }

  #wakeRoomWaiters(): void {
    clearTimeout(this.#roomRecheck);
    this.#roomRecheck = undefined;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const resolve of waiters) resolve();
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
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const cancel of this.#graceTimers.values()) cancel();
    this.#graceTimers.clear();
    this.#wakeRoomWaiters();
    // Workers never started let go of their reduced initargs (a Connection's reference).
    for (const pack of this.#initPacks.splice(0)) discardShared(pack);
    this.#checkStarted();
    this.#stopped ??= (async () => {
      const workers = this.#workers;
      this.#workers = [];
      for (const worker of workers) this.#retiredWorkerMs += performance.now() - worker.startedAt;
      await Promise.all(workers.map((w) => {
        const task = busy?.get(w);
        return w.terminate(task === undefined ? undefined : () => this.#warnStuck(w, task));
      }));
      this.#wake();
    })();
    return this.#stopped;
  }

  /**
   * Prints, once per pool, that a worker stuck in a loop keeps the program
   * alive; `when` says what stopped it (terminate(), or a cancelled task's grace).
   */
  #warnStuck(worker: WorkerHandle, task: string, when = "terminate()"): void {
    if (this.#warnedStuck) return;
    this.#warnedStuck = true;
    console.warn(
      `Warning: pool worker ${worker.name} (pid ${worker.pid}) did not stop within 1 s of ` +
        `${when}: task '${task}' seems stuck in a synchronous loop, which a Web Worker ` +
        `cannot be stopped in, so the program may never exit. Use backend: "node" for tasks ` +
        `that may hang: the program can then exit.`,
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
      if (this.#constructing) {
        // The first worker starts in the constructor: fail there, as Python's Pool() raises.
        for (const pack of this.#initPacks.splice(0)) discardShared(pack);
        throw initargsError(error);
      }
      return this.#break(
        `Pool worker PoolWorker-${pid} could not start: its initargs cannot be sent`,
        error,
      );
    }
    this.#workers.push(worker);
    this.#scheduleDispatch();
    if (this.#queued > 0) this.#spawnNext();
    this.#armIdle();
  }

  /**
   * A worker is up: start the next one, or, when this one has results on the
   * way and no task waits for a worker, once they are in. A constructor
   * blocks this thread for ~15 ms, and would hold them up: the first result
   * of a new pool came ~10 ms later for it.
   */
  #onReady(worker: WorkerHandle): void {
    this.#checkStarted();
    if (worker.inflight.size > 0 && this.#queued === 0) {
      this.#spawnAfter = worker;
    } else {
      this.#spawnNext();
    }
    // An elastic pool grows by one worker once the last one is up (see #grow).
    if (this.#queued > 0) this.#scheduleDispatch();
  }

  /** Starts the next worker if it waited for `worker`'s results (see #onReady). */
  #spawnDeferred(worker: WorkerHandle): void {
    if (this.#spawnAfter !== worker || worker.inflight.size > 0) return;
    this.#spawnAfter = undefined;
    // After the callers' continuations that the results just queued (and
    // not by setTimeout: a thread's first timer costs 5-14 ms here).
    queueMicrotask(() => this.#spawnNext(true));
  }

  /**
   * Replaces a worker that died or retired, unless the pool is stopping, or
   * is elastic and has enough workers for the tasks waiting.
   */
  #replace(): void {
    if (this.#state === "terminate" || this.#state === "broken") return;
    const count = this.#workers.length + this.#toSpawn;
    if (count >= this.#config.processes) return;
    if (this.#queued === 0 && (this.#state === "close" || count >= this.#config.minProcesses)) {
      return;
    }
    this.#toSpawn++;
    this.#spawnNext(true);
  }

  /**
   * Tasks wait and every worker is busy: an elastic pool starts one more
   * worker, once the last one it started is up (workers start one at a time).
   */
  #grow(): void {
    if (
      this.#toSpawn === 0 && this.#workers.length < this.#config.processes &&
      this.#workers.every((w) => w.ready || w.dead)
    ) {
      this.#toSpawn++;
      // Now, not on the next turn: tasks wait for it, and a thread's first
      // timer costs 5-14 ms here.
      return this.#spawnNext(true);
    }
    this.#spawnNext();
  }

  /** Arms the idle timer of an elastic pool above its minimum (one timer per pool). */
  #armIdle(delay = this.#config.idleTimeout): void {
    if (
      this.#idleTimer !== undefined || delay === undefined ||
      this.#workers.length <= this.#config.minProcesses ||
      (this.#state !== "run" && this.#state !== "close")
    ) return;
    this.#idleTimer = setTimeout(() => this.#retireIdle(), Math.min(delay, MAX_DELAY));
    // An idle pool must not keep the program alive: its workers do that while it is open.
    Deno.unrefTimer(this.#idleTimer);
  }

  /**
   * Retires the workers above minProcesses that have been idle for
   * idleTimeout. The first minProcesses workers stay: dispatch fills the
   * first workers first, so the later ones are those that go idle.
   */
  #retireIdle(): void {
    this.#idleTimer = undefined;
    const timeout = this.#config.idleTimeout!;
    const min = this.#config.minProcesses;
    const now = performance.now();
    let next = Infinity;
    for (let i = this.#workers.length - 1; i >= min; i--) {
      const worker = this.#workers[i];
      if (!worker.ready || worker.retiring || worker.inflight.size > 0) continue;
      const due = worker.idleSince + timeout - now;
      if (due <= 0) {
        this.#remove(worker);
        worker.terminate();
      } else if (due < next) {
        next = due;
      }
    }
    this.#checkStarted();
    if (next !== Infinity) this.#armIdle(next);
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
    for (let progress = true; progress && this.#queued > 0;) {
      progress = false;
      for (const worker of this.#workers) {
        if (this.#queued === 0) break;
        if (worker.dead || worker.retiring || worker.inflight.size >= window) continue;
        let task = this.#queue[this.#queueHead];
        this.#queue[this.#queueHead++] = undefined as unknown as PendingTask;
        while (task.state !== QUEUED) { // a tombstone: cancelled while queued
          task = this.#queue[this.#queueHead];
          this.#queue[this.#queueHead++] = undefined as unknown as PendingTask;
        }
        this.#queued--;
        task.state = SENT;
        task.sentAt = now;
        task.ahead = worker.inflight.size;
        worker.send(task);
        if (max !== undefined && worker.dispatched >= max) worker.retiring = true;
        progress = true;
        sent++;
      }
    }
    if (this.#queued === 0) {
      this.#queue = [];
      this.#queueHead = 0;
    } else {
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        // A queue kept full (maxQueue) never empties: drop the sent tasks' slots.
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#grow(); // tasks are waiting: start the missing workers now
    }
    if (sent === 0) return;
    if (this.#heldCount > 0 || this.#roomWaiters.length > 0) this.#admit();
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

  #onOutcome(worker: WorkerHandle, outcome: ToMain): void {
    const [kind, id, value] = outcome;
    const task = worker.inflight.get(id);
    if (!task) return;
    worker.inflight.delete(id);
    const now = performance.now();
    if (worker.inflight.size === 0) {
      worker.idleSince = now;
      if (this.#elastic && this.#idleTimer === undefined) this.#armIdle();
    }
    if (this.#maxHeapMb !== undefined && worker.heapMb() > this.#maxHeapMb) worker.retiring = true;
    if (worker.retiring && worker.inflight.size === 0) this.#retire(worker);
    if (task.state === CANCELLED) {
      // Its caller has the reason already; the worker is free of it.
      this.#graceTimers.get(task)?.();
      this.#graceTimers.delete(task);
    } else {
      // The tasks ahead of it ran first: share the wait among them.
      const service = (now - task.sentAt) / (task.ahead + 1);
      this.#serviceMs = this.#serviceMs === Infinity
        ? service
        : this.#serviceMs * 0.9 + service * 0.1;
      if (this.#timing) {
        // Whole µs from the worker; none under 1 µs.
        const runMs = (outcome[3] ?? 0) / 1000;
        this.#stats.record(runMs, now - runMs - task.queuedAt!);
      }
      if (kind === OK) this.#stats.completed++;
      else this.#stats.failed++;
      this.#settle(task, kind === OK, kind === ERR ? fromWireError(value as WireError) : value);
    }
    this.#spawnDeferred(worker);
    this.#scheduleDispatch();
  }

  /** Delivers a task's outcome to its caller: it is done. */
  #settle(task: PendingTask, ok: boolean, value: unknown): void {
    task.state = DONE;
    this.#deliver(task, ok, value);
  }

  #deliver(task: PendingTask, ok: boolean, value: unknown): void {
    this.#outstanding--;
    task.scope?.tasks.delete(task);
    task.settle(ok, value);
    if (this.#outstanding === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /**
   * A cancelled task did not settle within cancelGraceMs: its worker is
   * terminated and replaced, and the worker's other tasks go back to the
   * front of the queue (they did nothing wrong).
   */
  #graceOver(worker: WorkerHandle, task: PendingTask): void {
    this.#graceTimers.delete(task);
    if (worker.dead || worker.inflight.get(task.message[1]) !== task) return;
    worker.drain(); // outcomes written already count
    if (worker.dead || worker.inflight.get(task.message[1]) !== task) return;
    this.#remove(worker);
    const requeued: PendingTask[] = [];
    for (const other of worker.inflight.values()) {
      if (other.state === CANCELLED) {
        this.#graceTimers.get(other)?.();
        this.#graceTimers.delete(other);
      } else if (other.transfer !== undefined && other.transfer.length > 0) {
        // Its buffers moved to the terminated worker: nothing is left to send again.
        this.#stats.failed++;
        this.#settle(
          other,
          false,
          new Error(
            `Task '${other.fn.name}' did not finish: its worker ${worker.name} (pid ` +
              `${worker.pid}) was replaced after task '${task.fn.name}' ignored its ` +
              `cancellation for ${this.#config.cancelGraceMs} ms, and its transferred ` +
              `buffers were lost with it`,
          ),
        );
      } else {
        other.state = QUEUED;
        requeued.push(other);
      }
    }
    worker.inflight.clear();
    if (requeued.length > 0) {
      this.#stats.requeued += requeued.length;
      this.#queue = requeued.concat(this.#queue.slice(this.#queueHead));
      this.#queueHead = 0;
      this.#queued += requeued.length;
    }
    const when = "its replacement (its task was cancelled and did not stop within cancelGraceMs)";
    const stuck = () => this.#warnStuck(worker, task.fn.name, when);
    worker.terminate(this.#config.backend === "web" ? stuck : undefined);
    this.#spawnDeferred(worker);
    this.#replace();
    this.#checkStarted();
    this.#wake();
    this.#scheduleDispatch();
  }

  /** maxtasksperchild reached and its tasks done: replace the worker. */
  #retire(worker: WorkerHandle): void {
    this.#remove(worker);
    worker.terminate();
    this.#replace();
  }

  #remove(worker: WorkerHandle): void {
    const i = this.#workers.indexOf(worker);
    if (i < 0) return;
    this.#workers.splice(i, 1);
    this.#retiredWorkerMs += performance.now() - worker.startedAt;
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
      if (task.state === CANCELLED) {
        this.#graceTimers.get(task)?.();
        this.#graceTimers.delete(task);
        continue; // its caller has the reason already
      }
      this.#stats.failed++;
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
    const waiting = this.#queue.slice(this.#queueHead).concat(this.#held.slice(this.#heldHead));
    this.#queue = [];
    this.#queueHead = 0;
    this.#queued = 0;
    this.#held = [];
    this.#heldHead = 0;
    this.#heldCount = 0;
    for (const task of waiting) {
      if (task.state !== QUEUED && task.state !== HELD) continue; // a tombstone
      discardShared(task.message[3]); // never sent: its shared arguments let go
      this.#stats.failed++;
      this.#settle(task, false, error());
    }
    for (const worker of this.#workers) {
      const inflight = [...worker.inflight.values()];
      worker.inflight.clear();
      for (const task of inflight) {
        if (task.state === CANCELLED) continue; // its caller has the reason already
        this.#stats.failed++;
        this.#settle(task, false, error());
      }
    }
  }

  /** The figures of {@linkcode Pool.stats}. */
  stats(): PoolStats {
    const now = performance.now();
    let processes = 0;
    let busy = 0;
    let workerMs = this.#retiredWorkerMs;
    for (const worker of this.#workers) {
      if (worker.dead) continue;
      processes++;
      if (worker.inflight.size > 0) busy++;
      workerMs += now - worker.startedAt;
    }
    const stats = this.#stats;
    const capacity = workerMs * this.#config.concurrency;
    return {
      processes,
      busy,
      idle: processes - busy,
      queued: this.#queued + this.#heldCount,
      completed: stats.completed,
      failed: stats.failed,
      cancelled: stats.cancelled,
      requeued: stats.requeued,
      utilization: capacity > 0 ? Math.min(1, stats.busyMs / capacity) : 0,
      runTime: stats.runTime(),
      waitTime: stats.waitTime(),
    };
  }
}

function initargsError(error: unknown): TypeError {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TypeError(
    `Cannot create pool: 'initargs' cannot be sent to a worker (${reason})`,
    { cause: error },
  );
}

/**
 * A cancel's reason as the worker gets it: JSON-safe, so it takes the ring.
 * An error's name, message and primitive properties only: its stack would
 * cost ~50 µs to format (a fifth of the abort-to-signal latency), and the
 * task has no use for it.
 */
function cancelWire(reason: unknown): WireError {
  try {
    if (reason instanceof Error) {
      const name = String(reason.name);
      const message = String(reason.message);
      const props: Record<string, string | number | boolean | null> = {};
      for (const key of Object.keys(reason)) {
        const v = (reason as unknown as Record<string, unknown>)[key];
        if (v === null || typeof v === "string" || typeof v === "boolean") props[key] = v;
        else if (typeof v === "number" && Number.isFinite(v)) props[key] = v;
      }
      return { e: true, name, message, stack: `${name}: ${message}`, props };
    }
    if (isJsonSafe(reason)) return { e: false, value: reason };
  } catch {
    // a getter of the reason threw: described below
  }
  const message = `The task was cancelled; its abort reason cannot be sent to the worker ` +
    `(${describeValue(reason)})`;
  return { e: true, name: "Error", message, stack: `Error: ${message}`, props: {} };
}

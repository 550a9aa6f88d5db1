// The worker runtime shared by both worker entries (_worker.ts for Web
// Workers, _worker_node.ts for node:worker_threads). It imports the task
// modules, runs the initializer, then executes tasks from its ring (and from
// postMessage for values JSON cannot carry), at most `concurrency` at a time,
// and sends the outcomes back in batches.
//
// Cancelling: a CANCEL message (by the ring) drops a task still waiting here
// (or one yet to arrive by postMessage), or aborts the running task's taskSignal(). With
// concurrency 1 the running task is a variable; above 1, tasks interleave at
// their awaits, so each runs inside an AsyncLocalStorage context (~0.2 µs a
// task, and ~4 ms more start-up to load node:async_hooks, measured).
//
// Waiting: an idle worker first spins for SPIN_MS (a task that follows at once
// then needs no futex wake-up), then blocks in Atomics.wait for at most
// SYNC_WAIT_MS, then returns to its event loop (Atomics.waitAsync). It never blocks without bound: a blocked
// Web Worker cannot be terminated, and timers and I/O of async tasks need the
// event loop, so the synchronous wait is used only when no task is running.

import { enterWorker, setBootstrapping, setFunctionLookup, threadContext } from "./_context.ts";
import { resolveFunction } from "./_function_ref.ts";
import { isJsonSafe } from "./_json_safe.ts";
import { packNumbers } from "./_number_array.ts";
import type { AsyncLocalStorage } from "node:async_hooks";
import {
  CALL,
  CANCEL,
  CHUNK,
  DEF,
  ERR,
  type InitMessage,
  OK,
  type PingMessage,
  RING,
  THREAD,
  type ToMain,
  type ToWorker,
  type WorkerControl,
} from "./_protocol.ts";
import { describeThrown, fromWireError, toWireError, type WireError } from "./_remote_error.ts";
import { TimeoutError } from "./errors.ts";
import { installTaskContext } from "./_task_context.ts";
import { takeTransfer, transfersPending } from "./_transfer_marks.ts";
import { Ring } from "./_ring.ts";
import {
  learnShared,
  packShared,
  runProcessEndHooks,
  setDirectoryChannel,
  type SharedState,
  unpackShared,
} from "./_shared_registry.ts";
// Loaded for their revivers: shared objects of these types may arrive.
import "./queues.ts";
import "./connection.ts";
import "./synchronize.ts";
import "./shared_memory.ts";
import "./barrier.ts";
import "./managers.ts";

const SPIN_MS = 0.05;
const SYNC_WAIT_MS = 2;

type Fn = (...args: unknown[]) => unknown;
type Task = Exclude<ToWorker, [typeof DEF | typeof CANCEL, ...unknown[]]>;

/** How a worker entry talks to the main thread. */
export interface WorkerPort {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(onMessage: (message: unknown) => void): void;
  /**
   * Lets the runtime run `beforeClose` when the worker closes itself, so the
   * pool learns at once (Web Workers send no event for it); absent for
   * node workers, whose exit the pool sees.
   */
  interceptClose?(beforeClose: () => void): void;
}

/** The main thread's answer to a directory look-up. */
interface SharedAnswer {
  t: "shared";
  id: number;
  type: string;
  state: SharedState;
}

let port: WorkerPort;

/** Starts the runtime on `workerPort`: waits for the init message, then runs tasks. */
export function runWorker(workerPort: WorkerPort): void {
  port = workerPort;
  port.listen((message) => {
    if (Array.isArray(message)) {
      // By postMessage: arguments may hold shared objects, sent as their state.
      const task = message as ToWorker;
      if (task[0] === CALL || task[0] === CHUNK) {
        try {
          task[3] = unpackShared(task[3]) as unknown[];
        } catch (error) {
          // This task's arguments could not be revived: it fails, the worker lives on.
          running++;
          finish(task[1], task[2], false, false, error, 0);
          return;
        }
      }
      handle(task);
      return;
    }
    const control = message as InitMessage | SharedAnswer | PingMessage;
    if (control.t === "init") init(control);
    else if (control.t === "shared") learnShared(control.id, control.type, control.state);
    else if (control.t === "ping") pong();
  });
}

let inbox: Ring;
let outbox: Ring;
let resultBell: Int32Array;
let concurrency = 1;
let oneShot = false;
let mainModule = "";
const namespaces: { url: string; exports: Record<string, unknown> }[] = [];
/** The import of the main module, once a function needed it (one for all of them). */
let mainImport: Promise<void> | undefined;
/** Whether the main module is imported: a function not found now is not exported at all. */
let mainImported = false;

/** Resolved functions, or the error that resolving them gave. */
const functions = new Map<number, Fn | Error>();
/** Tasks that arrived (by postMessage) before the definition of their function. */
const parked = new Map<number, Task[]>();
const names = new Map<number, string>();

const queue: Task[] = [];
let queueHead = 0;
let running = 0;
let defining = 0;
let outcomes: ToMain[] = [];
/** Messages read early (by takeCancels) while a frame was being handled. */
let deferred: ToWorker[] = [];
/** A shared object was announced to the parent since the last flush (see init). */
let announcedSinceFlush = false;
let flushScheduled = false;
/** Whether outcomes carry the task's run time (the pool records stats). */
let timing = false;
/**
 * When the last task finished, while the next task would start at that
 * instant: from finish(), and between the tasks of one ring frame. -1
 * otherwise. performance.now() costs ~90 ns here, so a batch of tasks run
 * back to back reads the clock once per task, not twice.
 */
let finishedAt = -1;
/** True while drainInbox() hands out the tasks of one frame. */
let inFrame = false;
/** Reads this isolate's heap in bytes, when the pool has a maxHeapMb. */
let heapBytes: (() => number) | undefined;

// The running task, for taskSignal(): with concurrency 1 its id (0: none);
// above 1, the id in the AsyncLocalStorage context, among `runningIds`.
let current = 0;
let taskStore: AsyncLocalStorage<number> | undefined;
const runningIds = new Set<number>();
/** The running tasks' AbortControllers, made when taskSignal() or a cancel first needs one. */
const controllers = new Map<number, AbortController>();
/**
 * Cancels that came before their task: cancels go by the ring, and a task
 * whose arguments JSON cannot carry by postMessage, which may arrive later.
 * Bounded: a cancel of a task that had finished is never claimed.
 */
const earlyCancels = new Map<number, WireError>();
const EARLY_CANCELS = 256;

installTaskContext({
  signal(): AbortSignal | undefined {
    const id = taskStore ? taskStore.getStore() : current;
    if (!id || (taskStore && !runningIds.has(id))) return undefined;
    return controllerOf(id).signal;
  },
});

function controllerOf(taskId: number): AbortController {
  let controller = controllers.get(taskId);
  if (!controller) {
    controller = new AbortController();
    controllers.set(taskId, controller);
  }
  return controller;
}

async function init(m: InitMessage): Promise<void> {
  enterWorker(m.name, m.pid, m.parent, m.counters, m.threadControl, m.mainModule);
  setFunctionLookup(lookup);
  setDirectoryChannel((message) => {
    // The parent must learn of the object before it sees the outcome of the
    // task that put it on a queue: the next outcomes go on this same port
    // (ordered), not through the ring. Else a parent that is itself a worker
    // could finish, and be terminated, before relaying the announcement up,
    // and a queue made in a grandchild would never be known to the main thread.
    announcedSinceFlush = true;
    port.post(message);
  });
  inbox = new Ring(m.toWorker);
  outbox = new Ring(m.toMain);
  resultBell = new Int32Array(m.resultBell);
  concurrency = m.concurrency;
  oneShot = m.oneShot;
  mainModule = m.mainModule;
  timing = m.timing === true;
  port.interceptClose?.(() => {
    ending();
    control({ t: "closing" });
  });
  // Deno.exit() (and node's process.exit()) in a worker ends the worker only,
  // and a Web Worker's end sends no event: the pool would wait for its tasks
  // for ever. Both dispatch "unload" first, with the exit code set.
  addEventListener("unload", () => {
    ending();
    control({ t: "exit", code: Deno.exitCode });
  });
  try {
    if (concurrency > 1) {
      const { AsyncLocalStorage } = await import("node:async_hooks");
      taskStore = new AsyncLocalStorage<number>();
    }
    if (m.watchHeap) {
      const { getHeapStatistics } = await import("node:v8");
      heapBytes = () => getHeapStatistics().used_heap_size;
    }
    setBootstrapping(true);
    for (const url of m.modules) namespaces.push({ url, exports: await import(url) });
    if (m.initializer) {
      const init = await lookup(m.initializer[0], m.initializer[1]);
      setBootstrapping(false);
      // Shared objects (a Lock, a Queue, a Value...) arrive as their state.
      await init(...(unpackShared(m.initargs) as unknown[]));
    }
  } catch (error) {
    const wire = toWireError(error);
    try {
      control({ t: "init-failed", error: wire });
    } catch (reason) {
      control({ t: "init-failed", error: describeThrown(error, reason, "the initializer") });
    }
    return;
  } finally {
    setBootstrapping(false);
  }
  // A Process does not wait for "ready" (its task is on the way already),
  // and a thread's first postMessage costs ~1 ms here (Deno loads its
  // streams module then): a one-shot worker posts nothing on its way.
  if (!oneShot) control({ t: "ready" });
  pump();
}

/** The worker ends by itself: outcomes go out, and a Process's handles close as its fds would. */
function ending(): void {
  flush();
  if (oneShot) runProcessEndHooks();
}

function control(message: WorkerControl): void {
  port.post(message);
}

/** Finds a function by reference, importing the main module the first time it is needed. */
async function lookup(name: string, src: string): Promise<Fn> {
  try {
    return resolveFunction(name, src, namespaces);
  } catch (error) {
    if (mainImported || !mainModule) throw error;
  }
  // Every function that is not found yet waits for the same import: two
  // functions first called at once must both look again once it is in (a
  // flag set before the import finished told the second one, wrongly, that
  // its function did not exist).
  mainImport ??= importMainModule();
  await mainImport;
  return resolveFunction(name, src, namespaces);
}

async function importMainModule(): Promise<void> {
  setBootstrapping(true);
  try {
    namespaces.push({ url: mainModule, exports: await import(mainModule) });
    mainImported = true;
  } finally {
    setBootstrapping(false);
  }
}

/** Answers the main thread's ping (see WorkerHandle.terminate): this thread is not stuck. */
function pong(): void {
  const cells = threadContext().control;
  if (!cells) return;
  Atomics.add(cells, THREAD.PONG, 1);
  Atomics.notify(cells, THREAD.PONG);
}

function handle(message: ToWorker): void {
  if (message[0] === DEF) {
    define(message[1], message[2], message[3]);
  } else if (message[0] === CANCEL) {
    cancel(message[1], message[2]);
  } else {
    if (earlyCancels.size > 0 && earlyCancels.has(message[1])) {
      const reason = earlyCancels.get(message[1])!;
      earlyCancels.delete(message[1]);
      return dropped(message[1], reason);
    }
    queue.push(message);
    startTasks();
  }
}

/**
 * The caller gave up on a task: drop it if it waits here, abort its signal if
 * it runs. A task that finished already is not found: nothing to do.
 */
function cancel(taskId: number, wire: WireError): void {
  for (let i = queueHead; i < queue.length; i++) {
    if (queue[i][1] === taskId) {
      queue.splice(i, 1);
      return dropped(taskId, wire);
    }
  }
  for (const [fnId, list] of parked) {
    const i = list.findIndex((task) => task[1] === taskId);
    if (i < 0) continue;
    list.splice(i, 1);
    if (list.length === 0) parked.delete(fnId);
    return dropped(taskId, wire);
  }
  if (taskStore ? runningIds.has(taskId) : current === taskId) {
    controllerOf(taskId).abort(abortReason(wire));
    return;
  }
  if (earlyCancels.size >= EARLY_CANCELS) {
    earlyCancels.delete(earlyCancels.keys().next().value!);
  }
  earlyCancels.set(taskId, wire);
}

/** The caller's reason as the task sees it: an AbortError or TimeoutError stays one. */
function abortReason(wire: WireError): unknown {
  if (wire.e && wire.name === "AbortError") {
    return new DOMException(wire.message ?? "", "AbortError");
  }
  if (wire.e && wire.name === "TimeoutError") return new TimeoutError(wire.message ?? "");
  return fromWireError(wire);
}

/** Reports a task dropped before it ran (its caller has the reason already). */
function dropped(taskId: number, wire: WireError): void {
  outcomes.push([ERR, taskId, wire]);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flush);
  }
}

function define(fnId: number, name: string, src: string): void {
  names.set(fnId, name);
  try {
    functions.set(fnId, resolveFunction(name, src, namespaces));
  } catch (error) {
    if (mainImported || !mainModule) {
      functions.set(fnId, error as Error);
    } else {
      // The function lives in the main module, imported on first use.
      defining++;
      lookup(name, src).then(
        (fn) => functions.set(fnId, fn),
        (error) => functions.set(fnId, error),
      ).finally(() => {
        defining--;
        unpark(fnId);
      });
      return;
    }
  }
  unpark(fnId);
}

/** Queues the tasks that arrived before their function was defined. */
function unpark(fnId: number): void {
  const waiting = parked.get(fnId);
  if (!waiting) return;
  parked.delete(fnId);
  for (const task of waiting) queue.push(task);
  startTasks();
}

function startTasks(): void {
  while (running < concurrency && queueHead < queue.length) {
    const task = queue[queueHead];
    queue[queueHead++] = undefined as unknown as Task; // no reference kept to a started task
    if (!functions.has(task[2])) {
      // Its definition is still on the way (or being imported).
      const list = parked.get(task[2]) ?? [];
      list.push(task);
      parked.set(task[2], list);
      continue;
    }
    run(task);
  }
  if (queueHead === queue.length) {
    queue.length = 0;
    queueHead = 0;
  } else if (queueHead > 1024 && queueHead * 2 > queue.length) {
    // A worker that always has tasks waiting (async tasks, prefetched ones
    // behind them) never empties its queue: drop the started ones' slots.
    queue.splice(0, queueHead);
    queueHead = 0;
  }
}

function run(task: Task): void {
  const [kind, taskId, fnId] = task;
  const fn = functions.get(fnId)!;
  running++;
  const chunk = kind === CHUNK;
  const start = timing ? (finishedAt >= 0 ? finishedAt : performance.now()) : 0;
  if (fn instanceof Error) return finish(taskId, fnId, chunk, false, fn, start);
  if (taskStore) runningIds.add(taskId);
  else current = taskId;
  try {
    const out = taskStore ? taskStore.run(taskId, call, fn, task) : call(fn, task);
    if (isThenable(out)) {
      // Promise.resolve() returns a native promise as it is; a foreign
      // thenable is adopted, so its callbacks can fire once only.
      Promise.resolve(out).then(
        (v) => finish(taskId, fnId, chunk, true, v, start),
        (e) => finish(taskId, fnId, chunk, false, e, start),
      );
    } else {
      finish(taskId, fnId, chunk, true, out, start);
    }
  } catch (error) {
    finish(taskId, fnId, chunk, false, error, start);
  }
}

function call(fn: Fn, task: Task): unknown {
  return task[0] === CHUNK ? runChunk(fn, task[3], task[4] === 1, task[1]) : fn(...task[3]);
}

/** Runs a map chunk; an async function switches to awaiting each item in turn. */
function runChunk(fn: Fn, items: ArrayLike<unknown>, star: boolean, taskId: number): unknown {
  const results = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const out = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
    if (isThenable(out)) return finishChunkAsync(fn, items, star, results, i, out, taskId);
    results[i] = out;
  }
  return results;
}

async function finishChunkAsync(
  fn: Fn,
  items: ArrayLike<unknown>,
  star: boolean,
  results: unknown[],
  from: number,
  first: PromiseLike<unknown>,
  taskId: number,
): Promise<unknown[]> {
  results[from] = await first;
  for (let i = from + 1; i < items.length; i++) {
    // A cancelled chunk stops between items (a sync one runs to its end).
    const signal = controllers.size > 0 ? controllers.get(taskId)?.signal : undefined;
    if (signal?.aborted) throw signal.reason;
    results[i] = await (star ? fn(...(items[i] as unknown[])) : fn(items[i]));
  }
  return results;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/**
 * Sends a task's outcome (with its run time since `start` when timing).
 * Never throws, whatever the task returned or threw.
 */
function finish(
  taskId: number,
  fnId: number,
  chunk: boolean,
  ok: boolean,
  value: unknown,
  start: number,
): void {
  running--;
  if (taskStore) runningIds.delete(taskId);
  else if (current === taskId) current = 0;
  if (controllers.size > 0) controllers.delete(taskId);
  // Whole microseconds: short in JSON, and finer than the clock is worth.
  let runUs = -1;
  let end = -1;
  if (timing) {
    end = performance.now();
    runUs = Math.round((end - start) * 1000);
  }
  if (heapBytes) {
    Atomics.store(threadContext().control!, THREAD.HEAP_MB, Math.ceil(heapBytes() / 2 ** 20));
  }
  if (oneShot) runProcessEndHooks();
  if (ok) {
    try {
      const packed = chunk ? packNumbers(value as unknown[]) : undefined;
      const moving = transfersPending() ? takeTransfer(value) : undefined;
      if (packed) {
        port.post(outcome(OK, taskId, packed, runUs), [packed.buffer]);
      } else if (oneShot) {
        // A Process's return value is dropped, as Python drops it: the ring
        // carries the outcome, with no postMessage (see init()).
        outcomes.push([OK, taskId, null]);
      } else if (moving) {
        port.post(outcome(OK, taskId, packShared(value), runUs), moving);
      } else if (isJsonSafe(value)) {
        outcomes.push(outcome(OK, taskId, value, runUs));
      } else {
        port.post(outcome(OK, taskId, packShared(value), runUs));
      }
    } catch (error) {
      // The result cannot be cloned (or reading it threw: a getter, a Proxy).
      const reason = error instanceof Error ? error.message : String(error);
      const sendError = new TypeError(
        `Cannot send the result of task '${names.get(fnId)}' to the main thread: ${reason}`,
      );
      outcomes.push(outcome(ERR, taskId, toWireError(sendError), runUs));
    }
  } else {
    sendError(taskId, fnId, value, runUs);
  }
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flush);
  }
  finishedAt = end;
  // A CANCEL for a task waiting here may have come while this one ran (a
  // synchronous task keeps the inbox unread): apply it before the next starts.
  if (inbox.hasData()) takeCancels();
  startTasks();
  // A task started later (not from this frame) starts later: it reads the clock.
  if (!inFrame) finishedAt = -1;
}

/**
 * Sends what a task threw: through the ring when JSON carries it exactly,
 * else by structured clone (a thrown `{ code: 42 }`, `undefined` or Date comes
 * back as itself, as a result would), else a TypeError that describes it.
 */
function sendError(taskId: number, fnId: number, thrown: unknown, runUs: number): void {
  const wire: WireError = toWireError(thrown);
  let safe: boolean;
  try {
    safe = isJsonSafe(wire);
  } catch {
    safe = false; // a getter of the thrown value threw: structured clone decides
  }
  if (safe) {
    outcomes.push(outcome(ERR, taskId, wire, runUs));
    return;
  }
  try {
    port.post(outcome(ERR, taskId, wire, runUs));
  } catch (reason) {
    const described = describeThrown(thrown, reason, `task '${names.get(fnId)}'`);
    outcomes.push(outcome(ERR, taskId, described, runUs));
  }
}

/**
 * An outcome record, with the run time when timing and at least 1 µs (the
 * pool reads a missing one as 0): a trivial task's outcome stays as short as
 * without stats, and JSON would write an undefined field as null.
 */
function outcome(
  kind: typeof OK | typeof ERR,
  taskId: number,
  value: unknown,
  runUs: number,
): ToMain {
  return (runUs <= 0 ? [kind, taskId, value] : [kind, taskId, value, runUs]) as ToMain;
}

function flush(): void {
  flushScheduled = false;
  if (outcomes.length === 0) return;
  const batch = outcomes;
  outcomes = [];
  if (announcedSinceFlush) {
    announcedSinceFlush = false;
    port.post(batch);
  } else if (!outbox.write(JSON.stringify(batch))) {
    port.post(batch);
  }
  wakeMain();
}

function wakeMain(): void {
  Atomics.add(resultBell, 0, 1);
  Atomics.notify(resultBell, 0);
}

/**
 * Reads the inbox now, applying its CANCELs at once; its other messages wait
 * in `deferred` until the frame being handled is done (their order kept).
 */
function takeCancels(): void {
  for (let text = inbox.read(); text !== undefined; text = inbox.read()) {
    for (const message of JSON.parse(text) as ToWorker[]) {
      if (message[0] === CANCEL) cancel(message[1], message[2]);
      else deferred.push(message);
    }
  }
  if (!inFrame) handleDeferred();
}

function handleDeferred(): void {
  while (deferred.length > 0) {
    const messages = deferred;
    deferred = [];
    for (const message of messages) handle(message);
  }
}

function drainInbox(): boolean {
  let worked = deferred.length > 0;
  handleDeferred();
  for (let text = inbox.read(); text !== undefined; text = inbox.read()) {
    worked = true;
    const messages = JSON.parse(text) as ToWorker[];
    // The frame's tasks run back to back: each starts when the one before ended.
    finishedAt = -1;
    inFrame = true;
    try {
      for (const message of messages) handle(message);
    } finally {
      inFrame = false;
      finishedAt = -1;
    }
    handleDeferred();
  }
  if (worked) flush();
  return worked;
}

async function pump(): Promise<void> {
  const bell = inbox.bell;
  Atomics.store(threadContext().control!, THREAD.RUNNING, 1);
  for (;;) {
    let seen = Atomics.load(bell, RING.BELL);
    if (drainInbox()) continue;
    if (running === 0 && defining === 0) {
      if (spin(bell, seen) || sleep(bell, seen)) {
        if (inbox.hasData()) continue;
        // The bell rang with no frame: a task is coming by postMessage.
      }
      seen = Atomics.load(bell, RING.BELL);
      if (inbox.hasData()) continue;
    }
    // Back to the event loop: postMessage'd tasks, timers and I/O run here.
    Atomics.store(bell, RING.SLEEPING, 1);
    const wait = Atomics.waitAsync(bell, RING.BELL, seen);
    if (wait.async) await wait.value;
    else await new Promise((resolve) => setTimeout(resolve, 0));
    Atomics.store(bell, RING.SLEEPING, 0);
  }
}

/** Busy-waits up to SPIN_MS for the bell: a task that follows at once costs no syscall. */
function spin(bell: Int32Array, seen: number): boolean {
  const until = performance.now() + SPIN_MS;
  do {
    if (Atomics.load(bell, RING.BELL) !== seen) return true;
  } while (performance.now() < until);
  return false;
}

/** Sleeps up to SYNC_WAIT_MS on the bell; true when it rang. */
function sleep(bell: Int32Array, seen: number): boolean {
  Atomics.store(bell, RING.SLEEPING, 1);
  const woke = Atomics.wait(bell, RING.BELL, seen, SYNC_WAIT_MS);
  Atomics.store(bell, RING.SLEEPING, 0);
  return woke !== "timed-out";
}

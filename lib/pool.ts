/**
 * `Pool`: Python's `multiprocessing.Pool` on Deno workers.
 *
 * @module
 */
import { AsyncResult, type Settle } from "./async_result.ts";
import { threadContext } from "./_context.ts";
import { checkOptions } from "./_options.ts";
import { describeValue, timeoutMs } from "./_timeout.ts";
import { type FunctionRef, functionRef } from "./_function_ref.ts";
import { PoolEngine } from "./_pool_engine.ts";
import { cpuCount } from "./process_info.ts";
import { moduleUrls } from "./_module_urls.ts";
import { Full } from "./errors.ts";
import { type TaskScope, taskScope } from "./_task_scope.ts";

export { taskSignal } from "./task_signal.ts";
export { transfer } from "./transfer.ts";

/**
 * Any function; task functions must also be exported (see the module docs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TaskFunction } from "./pool.ts";
 * function add(a: number, b: number): number {
 *   return a + b;
 * }
 * const task: TaskFunction = add; // sync or async, any parameters
 * assert.equal(task(1, 2), 3);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type TaskFunction = (...args: any[]) => unknown;

/**
 * Which threads run the tasks: `"web"` (Web Workers) or `"node"`
 * (`node:worker_threads`: with a task stuck in a loop, the program can still exit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, type PoolBackend } from "./pool.ts";
 * const tasks = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(tasks);
 * const backend: PoolBackend = "node";
 * await using pool = new Pool({ processes: 1, backend, modules: [tasks] });
 * assert.equal(await pool.apply(double, [4]), 8);
 * ```
 */
export type PoolBackend = "web" | "node";

/**
 * Options of {@linkcode Pool}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, type PoolOptions } from "./pool.ts";
 * const tasks = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(tasks);
 * const options: PoolOptions = { processes: 2, maxtasksperchild: 100, modules: [tasks] };
 * await using pool = new Pool(options);
 * assert.equal(pool.processes, 2);
 * assert.equal(await pool.apply(double, [21]), 42);
 * ```
 */
export interface PoolOptions {
  /**
   * Number of workers.
   * @default {cpuCount()}
   */
  processes?: number | null;
  /**
   * Runs once in each worker before its first task, with `initargs`; by reference like tasks.
   * Every worker runs it, also when the pool is closed and joined at once (`join()` waits for
   * the workers to start, as Python starts them all with the pool).
   */
  initializer?: TaskFunction;
  /**
   * Arguments of `initializer`. Shared objects among them (a Lock, Value, Queue, Manager
   * proxy...) arrive in each worker as handles on the same object, as task arguments do.
   * @default {[]}
   */
  initargs?: unknown[];
  /** A worker is replaced by a fresh one after this many tasks (a map chunk counts as one). */
  maxtasksperchild?: number | null;
  /**
   * Tasks run at once in each worker: raise it for async, I/O-bound tasks such as `fetch`.
   * @default {1}
   */
  concurrency?: number | null;
  /**
   * Modules whose exported functions may be tasks, besides the main module: URL objects,
   * absolute URLs (`file:`, `https:`, `data:`, `jsr:`, `npm:`; also what `import.meta.resolve()`
   * returns), or paths. A relative path resolves against the main module's URL, as an import
   * in the main module would (against the current directory when there is no main module
   * file: a program from stdin or `deno eval`).
   * @default {[]}
   */
  modules?: (string | URL)[];
  /**
   * `"web"` runs tasks on Web Workers (start in ~25 ms). `"node"` runs them on
   * `node:worker_threads`, which start ~3x slower; with a task stuck in a loop, `terminate()`
   * then lets the program exit (the loop itself runs on: Deno cannot interrupt it). See the
   * guide, "Two backends".
   * @default {"web"}
   */
  backend?: PoolBackend;
  /**
   * An elastic pool: start this many workers, grow to `processes` while tasks wait, and let
   * idle workers above this many exit after `idleTimeout`. `0` starts none until the first task.
   * @default {processes}
   */
  minProcesses?: number | null;
  /**
   * Milliseconds an idle worker above `minProcesses` lives; `Infinity` (or `null`): for ever.
   * @default {30_000}
   */
  idleTimeout?: number | null;
  /**
   * Tasks that may wait for a worker. When that many wait, `applyAsync` throws `Full`, and
   * `apply`, the maps and the imaps wait for room. A map chunk counts as one task.
   * @default {Infinity}
   */
  maxQueue?: number | null;
  /**
   * A worker whose heap is above this many MiB after a task takes no more tasks and is
   * replaced once its tasks are done (on both backends).
   */
  maxHeapMb?: number | null;
  /**
   * Milliseconds a cancelled task that is running has to settle (its `taskSignal()` aborted)
   * before its worker is terminated and replaced; the worker's other tasks are re-queued.
   * `Infinity` (or `null`): never replace it.
   * @default {1000}
   */
  cancelGraceMs?: number | null;
  /**
   * Whether to time tasks for {@linkcode Pool.stats} (`runTime`, `waitTime`, `utilization`);
   * the counts are kept either way. It costs a few percent of a trivial task's throughput.
   * @default {true}
   */
  stats?: boolean;
}

/**
 * Per-task options of every method that runs tasks: `apply`, `applyAsync`, the maps and
 * the imaps.
 *
 * @example Giving up on a task
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, type TaskOptions } from "./pool.ts";
 * const tasks = "data:text/javascript,export function forever() { return new Promise(() => {}); }";
 * const { forever } = await import(tasks);
 * await using pool = new Pool({ processes: 1, modules: [tasks], cancelGraceMs: 0 });
 * const controller = new AbortController();
 * const options: TaskOptions = { signal: controller.signal };
 * const running = pool.apply(forever, [], options);
 * controller.abort();
 * await assert.rejects(running, { name: "AbortError" });
 * await assert.rejects(pool.apply(forever, [], { timeout: 10 }), { name: "TimeoutError" });
 * ```
 */
export interface TaskOptions {
  /**
   * Cancels the task (every chunk not done, for the maps): a queued task leaves the queue;
   * a running one's `taskSignal()` aborts, and its worker is replaced if it has not settled
   * `cancelGraceMs` later. The result rejects at once with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * Milliseconds from the call until the task (the whole call, for the maps) is cancelled as
   * by `signal`, rejecting with a `TimeoutError`. `undefined`, `null`, `Infinity`: no limit.
   */
  timeout?: number | null;
}

/**
 * Times in milliseconds over the pool's most recent tasks (up to 1024; a map chunk counts
 * as one task), as {@linkcode Pool.stats} reports them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TimeStats } from "./pool.ts";
 * const none: TimeStats = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
 * assert.equal(none.count, 0);
 * ```
 */
export interface TimeStats {
  /** How many tasks the figures cover (at most 1024; 0 before any task finished). */
  count: number;
  /** Their mean, in ms. */
  mean: number;
  /** Their median, in ms. */
  p50: number;
  /** The 90th percentile, in ms. */
  p90: number;
  /** The 99th percentile, in ms. */
  p99: number;
  /** The longest, in ms. */
  max: number;
}

/**
 * What {@linkcode Pool.stats} returns: the pool's state now, its counts since it started,
 * and its task times over the last 1024 tasks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, type PoolStats } from "./pool.ts";
 * const tasks = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(tasks);
 * await using pool = new Pool({ processes: 2, modules: [tasks] });
 * await pool.map(double, [1, 2, 3, 4], { chunksize: 1 });
 * const stats: PoolStats = pool.stats();
 * assert.equal(stats.completed, 4); // one per chunk
 * assert.equal(stats.runTime.count, 4);
 * ```
 */
export interface PoolStats {
  /** Workers now (starting ones included). */
  processes: number;
  /** Workers holding at least one task. */
  busy: number;
  /** Workers holding none (`processes - busy`). */
  idle: number;
  /** Tasks waiting for a worker, those `maxQueue` holds back included. */
  queued: number;
  /** Tasks that succeeded since the pool started. */
  completed: number;
  /** Tasks that failed (threw, could not be sent, their worker died or the pool was terminated). */
  failed: number;
  /** Tasks cancelled by their `signal` or `timeout`, queued or running. */
  cancelled: number;
  /** Tasks moved back to the queue from a worker replaced after a cancelled task ignored it. */
  requeued: number;
  /** The share of worker time spent running tasks since the pool started, 0 to 1. */
  utilization: number;
  /** How long tasks ran in their worker. */
  runTime: TimeStats;
  /** How long tasks waited from their submission until they started. */
  waitTime: TimeStats;
}

/**
 * Callbacks of {@linkcode Pool.applyAsync} and the `*Async` maps; they run on the main thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AsyncOptions, Pool } from "./pool.ts";
 * const tasks = "data:text/javascript,export function half(x) { if (x & 1) throw new RangeError('odd'); return x / 2; }";
 * const { half } = await import(tasks);
 * const seen: unknown[] = [];
 * const options: AsyncOptions<number> = {
 *   callback: (value) => seen.push(value),
 *   errorCallback: (error) => seen.push((error as Error).message),
 * };
 * await using pool = new Pool({ processes: 1, modules: [tasks] });
 * await pool.applyAsync(half, [4], options).wait();
 * await pool.applyAsync(half, [3], options).wait();
 * assert.deepEqual(seen, [2, "odd"]);
 * ```
 */
export interface AsyncOptions<R> extends TaskOptions {
  /** Called with the result when the task succeeds. */
  callback?: (result: R) => void;
  /** Called with the error when the task fails. */
  errorCallback?: (error: unknown) => void;
}

/**
 * Options of the map family.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MapOptions, Pool } from "./pool.ts";
 * const tasks = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(tasks);
 * await using pool = new Pool({ processes: 2, modules: [tasks] });
 * const options: MapOptions = { chunksize: 100 }; // 1000 items in 10 tasks
 * const doubled = await pool.map(double, Array.from({ length: 1000 }, (_, i) => i), options);
 * assert.equal(doubled[999], 1998);
 * ```
 */
export interface MapOptions extends TaskOptions {
  /**
   * Items sent to a worker at once. `map` defaults to ceil(n / (4 × processes)) as
   * Python does; `imap` and `imapUnordered` default to 1.
   */
  chunksize?: number;
}

/**
 * Options of {@linkcode Pool.mapAsync} and {@linkcode Pool.starmapAsync}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MapAsyncOptions, Pool } from "./pool.ts";
 * const tasks = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(tasks);
 * await using pool = new Pool({ processes: 2, modules: [tasks] });
 * let total = 0;
 * const options: MapAsyncOptions<number> = {
 *   chunksize: 1,
 *   callback: (values) => (total = values.reduce((a, b) => a + b, 0)),
 * };
 * assert.deepEqual(await pool.mapAsync(double, [1, 2, 3], options), [2, 4, 6]);
 * assert.equal(total, 12);
 * ```
 */
export interface MapAsyncOptions<R> extends MapOptions, AsyncOptions<R[]> {}

/**
 * What a task function's result becomes on the main thread: its awaited return value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TaskResult } from "./pool.ts";
 * async function fetchSize(url: string): Promise<number> {
 *   return url.length;
 * }
 * const size: TaskResult<typeof fetchSize> = 3; // a number, not a Promise
 * assert.equal(size, await fetchSize("abc"));
 * ```
 */
export type TaskResult<F extends TaskFunction> = Awaited<ReturnType<F>>;
/**
 * The item type `map` passes as the first argument (anything for functions without one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MapItem } from "./pool.ts";
 * function parse(text: string): number {
 *   return Number(text);
 * }
 * const item: MapItem<typeof parse> = "42"; // pool.map(parse, items) takes strings
 * assert.equal(parse(item), 42);
 * ```
 */
export type MapItem<F extends TaskFunction> = Parameters<F> extends [] ? unknown : Parameters<F>[0];

const POOL_OPTIONS = [
  "processes",
  "initializer",
  "initargs",
  "maxtasksperchild",
  "concurrency",
  "modules",
  "backend",
  "minProcesses",
  "idleTimeout",
  "maxQueue",
  "maxHeapMb",
  "cancelGraceMs",
  "stats",
] as const;
const TASK_OPTIONS = ["signal", "timeout"] as const;
const MAP_OPTIONS = ["chunksize", "signal", "timeout"] as const;
const ASYNC_OPTIONS = ["callback", "errorCallback", "signal", "timeout"] as const;
const MAP_ASYNC_OPTIONS = ["chunksize", "callback", "errorCallback", "signal", "timeout"] as const;
/** The default options of the methods that take some (no allocation, no check per call). */
const NO_OPTIONS = Object.freeze({});

/**
 * A pool of worker threads that run exported functions by reference:
 * Python's `multiprocessing.Pool`, with `await` where Python blocks.
 *
 * @example The seed's long_time_task on a pool
 * ```ts ignore
 * import { Pool } from "jsr:@dmp/multiprocessing";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool(4);
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 *
 * @example Tasks from a module listed in `modules` (here a data: URL, to keep the example in one block)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./pool.ts";
 * const tasks = "data:text/javascript,export function square(x) { return x * x; }";
 * const { square } = await import(tasks);
 *
 * await using pool = new Pool({ processes: 2, modules: [tasks] });
 * assert.ok((await pool.map(square, [1, 2, 3])).join() === "1,4,9");
 * assert.ok((await pool.apply(square, [7])) === 49);
 * ```
 */
export class Pool implements AsyncDisposable {
  #engine: PoolEngine;
  #processes: number;
  #maxQueue: number;

  /**
   * Starts the workers.
   *
   * @param options Number of workers, or {@linkcode PoolOptions}; `null` or nothing: `cpuCount()`.
   * @throws {RangeError} When a count is not a positive integer.
   * @throws {TypeError} When an option has the wrong type or an unknown name, the initializer
   *   cannot travel, or `initargs` cannot be cloned.
   *
   * @example Unknown option names are refused, naming the close match
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * assert.throws(
   *   () => new Pool({ proceses: 2 } as never),
   *   /unknown option 'proceses'; did you mean 'processes'\?/,
   * );
   * ```
   */
  constructor(options: number | PoolOptions | null = {}) {
    if (threadContext().bootstrapping) {
      throw new Error(
        "Cannot create a pool while a worker is importing its task modules: start pools " +
          "inside 'if (import.meta.main) { ... }' (Python's if __name__ == '__main__')",
      );
    }
    // `new Pool(null)` is Python's Pool(None): as many workers as cores.
    const o: PoolOptions = typeof options === "object" && options !== null
      ? options
      : { processes: options ?? undefined };
    if (o === options) checkOptions(o, POOL_OPTIONS, "create pool");
    this.#processes = positiveInteger("processes", o.processes ?? undefined, cpuCount());
    const concurrency = positiveInteger("concurrency", o.concurrency ?? undefined, 1);
    const maxtasks = o.maxtasksperchild == null
      ? undefined
      : positiveInteger("maxtasksperchild", o.maxtasksperchild, 1);
    let initializer: FunctionRef | null = null;
    if (o.initializer != null) {
      if (typeof o.initializer !== "function") {
        throw new TypeError(
          `Cannot create pool: 'initializer' must be a function, received ${typeof o
            .initializer}`,
        );
      }
      initializer = functionRef(o.initializer, "the pool initializer");
    }
    if (o.initargs !== undefined && !Array.isArray(o.initargs)) {
      throw new TypeError("Cannot create pool: 'initargs' must be an array of arguments");
    }
    const backend = o.backend ?? "web";
    if (backend !== "web" && backend !== "node") {
      throw new TypeError(
        `Cannot create pool: 'backend' must be "web" or "node", received ${String(backend)}`,
      );
    }
    // null is Python's None: the default (no limit, where the option is a limit).
    const minProcesses = o.minProcesses == null
      ? this.#processes
      : countOption("minProcesses", o.minProcesses, 0);
    if (minProcesses > this.#processes) {
      throw new RangeError(
        `Cannot create pool: 'minProcesses' must be at most 'processes' (${this.#processes}), ` +
          `received ${minProcesses}`,
      );
    }
    const maxQueue = o.maxQueue == null || o.maxQueue === Infinity
      ? Infinity
      : countOption("maxQueue", o.maxQueue, 1, " or Infinity");
    this.#maxQueue = maxQueue;
    if (o.stats !== undefined && typeof o.stats !== "boolean") {
      throw new TypeError(
        `Cannot create pool: 'stats' must be true or false, received ${describeValue(o.stats)}`,
      );
    }
    this.#engine = new PoolEngine({
      processes: this.#processes,
      minProcesses,
      idleTimeout: o.idleTimeout === undefined
        ? 30_000
        : timeoutMs(o.idleTimeout, "create pool", "idleTimeout"),
      maxQueue,
      maxHeapMb: heapLimit(o.maxHeapMb ?? undefined),
      cancelGraceMs: o.cancelGraceMs === undefined
        ? 1000
        : timeoutMs(o.cancelGraceMs, "create pool", "cancelGraceMs"),
      stats: o.stats ?? true,
      backend,
      concurrency,
      maxtasksperchild: maxtasks,
      initargs: o.initargs ?? [],
      settings: {
        counters: threadContext().counters,
        // In a worker, the program's main module as its parent passed it on.
        mainModule: threadContext().mainModule ?? "",
        modules: moduleUrls(o.modules, "create pool"),
        initializer: initializer && [initializer.name, initializer.src],
        concurrency,
      },
    });
  }

  /** The number of workers. */
  get processes(): number {
    return this.#processes;
  }

  /**
   * Runs `fn(...args)` in a worker and waits for the result. With `maxQueue`, it waits
   * for room in the queue first.
   *
   * @param fn An exported function (see the module docs).
   * @param args Its arguments.
   * @param options `signal` and `timeout` (see {@linkcode TaskOptions}).
   * @returns The result, awaited if it is a Promise.
   * @throws {TypeError} When `fn` cannot travel by reference.
   */
  apply<F extends TaskFunction>(
    fn: F,
    args: Parameters<F> | [] = [],
    options: TaskOptions = NO_OPTIONS,
  ): Promise<TaskResult<F>> {
    // A plain Promise, not an AsyncResult: two fewer hops on the latency path.
    return new Promise((resolve, reject) => {
      if (options !== NO_OPTIONS) checkOptions(options, TASK_OPTIONS, "call apply()");
      this.#submitCall(
        fn,
        args,
        (ok, value) => ok ? resolve(value as TaskResult<F>) : reject(value),
        options,
        "apply",
      );
    });
  }

  /**
   * Submits `fn(...args)` and returns at once.
   *
   * @param fn An exported function.
   * @param args Its arguments.
   * @param options `callback` / `errorCallback`, run on the main thread; `signal` and
   *   `timeout` (see {@linkcode TaskOptions}).
   * @returns A handle on the outcome.
   * @throws {TypeError} When `fn` cannot travel by reference.
   * @throws {Error} When the pool is closed or terminated.
   * @throws {Full} When `maxQueue` tasks wait already (`await pool.waitForRoom()` first).
   *
   * @example A bounded queue pushes back
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * import { Full } from "./errors.ts";
   * const tasks = "data:text/javascript,export function nap(ms) { return new Promise((r) => setTimeout(r, ms, ms)); }";
   * const { nap } = await import(tasks);
   * await using pool = new Pool({ processes: 1, maxQueue: 1, modules: [tasks] });
   * const results = [];
   * for (let i = 0; i < 5; i++) {
   *   await pool.waitForRoom(); // a producer that never overfills the queue
   *   results.push(pool.applyAsync(nap, [1]));
   * }
   * assert.equal((await Promise.all(results)).length, 5);
   * const first = pool.applyAsync(nap, [1]); // waits in the queue until the dispatch, a microtask away
   * assert.throws(() => pool.applyAsync(nap, [1]), Full);
   * assert.equal(await first, 1);
   * ```
   */
  applyAsync<F extends TaskFunction>(
    fn: F,
    args: Parameters<F> | [] = [],
    options: AsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>> {
    if (options !== NO_OPTIONS) checkCallbacks(options, ASYNC_OPTIONS, "applyAsync");
    let settle!: Settle;
    const result = new AsyncResult<TaskResult<F>>((s) => settle = s);
    this.#submitCall(fn, args, withCallbacks(settle, options), options, "applyAsync");
    return result;
  }

  /**
   * Resolves when a task submitted now would wait in the queue: at once without
   * `maxQueue`, or while fewer than `maxQueue` tasks wait. It reserves no place (another
   * caller may take it first), and resolves at once when the pool stops accepting tasks.
   *
   * @returns A promise that resolves when the queue has room.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * const tasks = "data:text/javascript,export function inc(x) { return x + 1; }";
   * const { inc } = await import(tasks);
   * await using pool = new Pool({ processes: 1, maxQueue: 2, modules: [tasks] });
   * let total = 0;
   * for (let i = 0; i < 100; i++) {
   *   await pool.waitForRoom();
   *   pool.applyAsync(inc, [i], { callback: (r) => total += r });
   * }
   * await pool.apply(inc, [0]); // after every task before it
   * assert.equal(total, 5050);
   * ```
   */
  waitForRoom(): Promise<void> {
    return this.#engine.waitForRoom();
  }

  /**
   * The pool's figures: its workers now, its task counts since it started, and its task
   * times over the last 1024 tasks (see {@linkcode PoolStats}). Cheap: the percentiles are
   * computed when it is called.
   *
   * @returns A snapshot.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * const tasks = "data:text/javascript,export function nap(ms) { return new Promise((r) => setTimeout(r, ms, ms)); }";
   * const { nap } = await import(tasks);
   * await using pool = new Pool({ processes: 1, modules: [tasks] });
   * await Promise.all([20, 20, 20].map((ms) => pool.apply(nap, [ms])));
   * const { completed, runTime, waitTime } = pool.stats();
   * assert.equal(completed, 3);
   * assert.ok(runTime.p50 >= 19); // each ran ~20 ms
   * assert.ok(waitTime.max >= 38); // the last waited for the two before it
   * ```
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Submits one task. `applyAsync` throws `Full` on a full queue; `apply`
   * holds its task back until there is room.
   */
  #submitCall(
    fn: TaskFunction,
    args: unknown[],
    settle: Settle,
    options: TaskOptions,
    method: "apply" | "applyAsync",
  ): void {
    const ref = functionRef(fn, "task");
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot submit task '${ref.name}': 'args' must be an array of arguments, received ` +
          typeof args,
      );
    }
    this.#engine.checkRunning(`submit task '${ref.name}'`);
    if (options === NO_OPTIONS) {
      if (method === "applyAsync" && !this.#engine.hasRoom()) throw this.#full(ref);
      return this.#engine.submitCall(ref, args, settle);
    }
    const scope = taskScope(options, `call ${method}()`, `Task '${ref.name}'`);
    // An aborted signal: the task is not run, and its result rejects at once.
    if (scope?.aborted) return settle(false, scope.reason);
    if (method === "applyAsync" && !this.#engine.hasRoom()) {
      scope?.dispose();
      throw this.#full(ref);
    }
    if (!scope) return this.#engine.submitCall(ref, args, settle);
    try {
      this.#engine.submitCall(ref, args, (ok, value) => {
        scope.dispose();
        settle(ok, value);
      }, scope);
    } catch (error) {
      scope.dispose(); // its arguments cannot be sent (a closed Connection): no timer stays behind
      throw error;
    }
    scope.watch(() => this.#engine.cancelScope(scope));
  }

  #full(ref: FunctionRef): Full {
    return new Full(
      `Cannot submit task '${ref.name}': the pool's queue is full (maxQueue ` +
        `${this.#maxQueue}); await pool.waitForRoom() before applyAsync(), or use apply(), ` +
        `which waits for room`,
    );
  }

  /**
   * Applies `fn` to every item, in parallel chunks, and returns the results in input order.
   *
   * @param fn An exported function of one argument.
   * @param iterable The items.
   * @param options `chunksize`; `signal` and `timeout` for the whole call (see {@linkcode TaskOptions}).
   * @returns The results.
   */
  map<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>>,
    options: MapOptions = NO_OPTIONS,
  ): Promise<TaskResult<F>[]> {
    return settled(() => this.#mapAsync<TaskResult<F>>(fn, iterable, false, options, "map"));
  }

  /**
   * Like {@linkcode Pool.map} but returns at once.
   *
   * @param fn An exported function of one argument.
   * @param iterable The items.
   * @param options `chunksize`, `callback` (gets the whole list) and `errorCallback`; `signal` and
   *   `timeout` for the whole call.
   * @returns A handle on the list of results.
   */
  mapAsync<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>>,
    options: MapAsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>[]> {
    return this.#mapAsync<TaskResult<F>>(fn, iterable, false, options, "mapAsync");
  }

  /**
   * Like {@linkcode Pool.map}, but each item is an array of arguments: `fn(...item)`.
   *
   * @param fn An exported function.
   * @param iterable Argument lists.
   * @param options `chunksize`; `signal` and `timeout` for the whole call (see {@linkcode TaskOptions}).
   * @returns The results in input order.
   */
  starmap<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<Parameters<F>>,
    options: MapOptions = NO_OPTIONS,
  ): Promise<TaskResult<F>[]> {
    return settled(() => this.#mapAsync<TaskResult<F>>(fn, iterable, true, options, "starmap"));
  }

  /**
   * Like {@linkcode Pool.starmap} but returns at once.
   *
   * @param fn An exported function.
   * @param iterable Argument lists.
   * @param options `chunksize`, `callback`, `errorCallback`; `signal` and `timeout` for the whole call.
   * @returns A handle on the list of results.
   */
  starmapAsync<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<Parameters<F>>,
    options: MapAsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>[]> {
    return this.#mapAsync<TaskResult<F>>(fn, iterable, true, options, "starmapAsync");
  }

  /**
   * Streams `fn(item)` results in input order while later inputs are still being read.
   * The input may be an async iterable. At most a few chunks per worker are in flight.
   *
   * @param fn An exported function of one argument.
   * @param iterable The items (sync or async).
   * @param options `chunksize` (default 1); `signal` and `timeout` for the whole stream (they
   *   also stop reading the input).
   * @returns The results, as they become available in order.
   */
  imap<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>> | AsyncIterable<MapItem<F>>,
    options: MapOptions = NO_OPTIONS,
  ): AsyncIterableIterator<TaskResult<F>> {
    return this.#imap(fn, iterable, true, options, "imap");
  }

  /**
   * Like {@linkcode Pool.imap}, but yields results in completion order.
   *
   * @param fn An exported function of one argument.
   * @param iterable The items (sync or async).
   * @param options `chunksize` (default 1); `signal` and `timeout` for the whole stream (they
   *   also stop reading the input).
   * @returns The results, as they complete.
   */
  imapUnordered<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>> | AsyncIterable<MapItem<F>>,
    options: MapOptions = NO_OPTIONS,
  ): AsyncIterableIterator<TaskResult<F>> {
    return this.#imap(fn, iterable, false, options, "imapUnordered");
  }

  /** Accepts no more tasks; queued tasks still run. Then `join()`. */
  close(): void {
    this.#engine.close();
  }

  /**
   * Stops the workers now; unfinished tasks reject.
   *
   * On the `"web"` backend a task stuck in a synchronous loop cannot be stopped, and its
   * worker keeps the program alive: a busy worker that does not answer within 1 s gets one
   * warning on stderr per pool (then this resolves), naming the task and advising
   * `backend: "node"`, whose `terminate()` stops such tasks.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * const tasks = "data:text/javascript,export function forever() { return new Promise(() => {}); }";
   * const { forever } = await import(tasks);
   * const pool = new Pool({ processes: 1, modules: [tasks] });
   * const result = pool.applyAsync(forever);
   * await pool.terminate();
   * await assert.rejects(result.get(), /terminated before the task finished/);
   * ```
   */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /**
   * Waits until every task has finished and the workers have stopped. With an
   * `initializer`, it first waits until every worker has started and run it, as
   * Python starts all workers with the pool.
   *
   * @throws {Error} Unless `close()` or `terminate()` was called first.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./pool.ts";
   * const tasks = "data:text/javascript,export function count(buffer) { Atomics.add(new Int32Array(buffer), 0, 1); }";
   * const { count } = await import(tasks);
   * const started = new Int32Array(new SharedArrayBuffer(4));
   * const pool = new Pool({ processes: 2, modules: [tasks], initializer: count, initargs: [started.buffer] });
   * pool.close();
   * await pool.join();
   * assert.equal(Atomics.load(started, 0), 2); // once per worker, though no task ran
   * ```
   */
  join(): Promise<void> {
    return this.#engine.join();
  }

  /** `await using pool = new Pool()`: close() then join(). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /** Python spelling of {@linkcode Pool.applyAsync}. */
  apply_async<F extends TaskFunction>(
    fn: F,
    args: Parameters<F> | [] = [],
    options: AsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>> {
    return this.applyAsync(fn, args, options);
  }

  /** Python spelling of {@linkcode Pool.mapAsync}. */
  map_async<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>>,
    options: MapAsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>[]> {
    return this.mapAsync(fn, iterable, options);
  }

  /** Python spelling of {@linkcode Pool.starmapAsync}. */
  starmap_async<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<Parameters<F>>,
    options: MapAsyncOptions<TaskResult<F>> = NO_OPTIONS,
  ): AsyncResult<TaskResult<F>[]> {
    return this.starmapAsync(fn, iterable, options);
  }

  /** Python spelling of {@linkcode Pool.imapUnordered}. */
  imap_unordered<F extends TaskFunction>(
    fn: F,
    iterable: Iterable<MapItem<F>> | AsyncIterable<MapItem<F>>,
    options: MapOptions = NO_OPTIONS,
  ): AsyncIterableIterator<TaskResult<F>> {
    return this.imapUnordered(fn, iterable, options);
  }

  #mapAsync<R>(
    fn: TaskFunction,
    iterable: Iterable<unknown>,
    star: boolean,
    options: MapAsyncOptions<R>,
    method: string,
  ): AsyncResult<R[]> {
    if (options !== NO_OPTIONS) {
      checkCallbacks(options, method.endsWith("Async") ? MAP_ASYNC_OPTIONS : MAP_OPTIONS, method);
    }
    const ref = functionRef(fn, "task");
    const items = Array.from(checkIterable(iterable, method) as Iterable<unknown>);
    if (star) checkArgLists(items, method);
    this.#engine.checkRunning(`${method} '${ref.name}'`);
    const chunksize = options.chunksize === undefined
      ? Math.max(1, Math.ceil(items.length / (this.#processes * 4)))
      : positiveInteger("chunksize", options.chunksize, 1, method);
    const scope = options === NO_OPTIONS
      ? undefined
      : taskScope(options, `call ${method}()`, `${method} '${ref.name}'`);
    return new AsyncResult<R[]>((settle) => {
      const callbacks = withCallbacks(settle, options);
      const done = scope
        ? (ok: boolean, value: unknown) => {
          scope.dispose();
          callbacks(ok, value);
        }
        : callbacks;
      // An aborted signal: nothing runs, and the result rejects at once.
      if (scope?.aborted) return done(false, scope.reason);
      const results = new Array(items.length);
      let remaining = Math.ceil(items.length / chunksize);
      if (remaining === 0) return done(true, results);
      let failed = false;
      try {
        for (let start = 0; start < items.length; start += chunksize) {
          const chunk = items.slice(start, start + chunksize);
          this.#engine.submitChunk(ref, chunk, star, (ok, value) => {
            if (failed) return;
            if (!ok) {
              failed = true;
              return done(false, value);
            }
            const out = value as unknown[];
            for (let i = 0; i < out.length; i++) results[start + i] = out[i];
            if (--remaining === 0) done(true, results);
          }, scope);
        }
      } catch (error) {
        scope?.dispose(); // items that cannot be sent (a closed Connection): no timer stays behind
        throw error;
      }
      scope?.watch(() => this.#engine.cancelScope(scope));
    });
  }

  #imap<R>(
    fn: TaskFunction,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    ordered: boolean,
    options: MapOptions,
    method: string,
  ): AsyncIterableIterator<R> {
    if (options !== NO_OPTIONS) checkOptions(options, MAP_OPTIONS, `call ${method}()`);
    const ref = functionRef(fn, "task");
    const input = checkIterable(iterable, method);
    this.#engine.checkRunning(`${method} '${ref.name}'`);
    const chunksize = positiveInteger("chunksize", options.chunksize, 1, method);
    const scope = options === NO_OPTIONS
      ? undefined
      : taskScope(options, `call ${method}()`, `${method} '${ref.name}'`);
    const limit = Math.max(2, this.#processes * 2);
    const engine = this.#engine;
    return streamResults<R>(
      input,
      chunksize,
      limit,
      ordered,
      (chunk) =>
        new Promise((resolve, reject) => {
          engine.submitChunk(
            ref,
            chunk,
            false,
            (ok, value) => ok ? resolve(value as R[]) : reject(value),
            scope,
          );
        }),
      // With maxQueue, read no input while the queue is full.
      () => engine.hasRoom() ? undefined : engine.waitForRoom(),
      scope,
      scope && (() => engine.cancelScope(scope)),
    );
  }
}

/**
 * Reads `input` lazily in chunks, keeps at most `limit` chunks in flight, and
 * yields results in input order (or completion order).
 */
async function* streamResults<R>(
  input: Iterable<unknown> | AsyncIterable<unknown>,
  chunksize: number,
  limit: number,
  ordered: boolean,
  run: (chunk: unknown[]) => Promise<R[]>,
  room: () => Promise<void> | undefined,
  scope: TaskScope | undefined,
  cancel: (() => void) | undefined,
): AsyncGenerator<R, void, undefined> {
  // The call's signal or timeout: it cancels the chunks in flight (which then
  // reject), and ends a wait for the input or for room at once.
  let aborted: Promise<never> | undefined;
  if (scope) {
    aborted = scope.aborted ? Promise.reject(scope.reason) : new Promise<never>((_, reject) => {
      scope.watch((reason) => {
        cancel!();
        reject(reason);
      });
    });
    aborted.catch(() => {}); // read through the races below
  }
  const abortable = <T>(promise: Promise<T>): Promise<T> =>
    aborted ? Promise.race([promise, aborted]) : promise;
  const source = Symbol.asyncIterator in input
    ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    : (input as Iterable<unknown>)[Symbol.iterator]();
  let exhausted = false;
  let next = 0;
  type Outcome = { index: number; ok: boolean; value: unknown };
  type Read = { read: true; chunk: unknown[]; error?: { error: unknown } };
  const inFlight = new Map<number, Promise<Outcome>>();
  const settled = new Map<number, { ok: boolean; value: unknown }>();
  let nextToYield = 0;
  /** The chunk being read, at most one at a time: results are yielded meanwhile. */
  let reading: Promise<Read> | undefined;
  try {
    yield* stream();
  } finally {
    scope?.dispose();
    // Left early (a break, or an error): let the input clean up, as a
    // for-of would. Not awaited: an async input may be stuck in next().
    if (!exhausted) {
      try {
        const closing = source.return?.();
        if (closing instanceof Promise) closing.catch(() => {});
      } catch {
        // The input's own return() failed: nothing to add to what ended the loop.
      }
    }
  }

  /** Reads up to `chunksize` items (after waiting for room); the input's error ends it. */
  async function readChunk(): Promise<Read> {
    const wait = room();
    if (wait) await abortable(wait);
    const chunk: unknown[] = [];
    while (chunk.length < chunksize) {
      try {
        const step = await abortable(Promise.resolve(source.next()));
        if (step.done) {
          exhausted = true;
          break;
        }
        chunk.push(step.value);
      } catch (error) {
        // The call's signal or timeout: it ends the stream now.
        if (scope?.aborted) throw scope.reason;
        exhausted = true;
        return { read: true, chunk, error: { error } };
      }
    }
    return { read: true, chunk };
  }

  function submit(chunk: unknown[], inputError: { error: unknown } | undefined): void {
    // As in Python, the input's error drops the chunk it interrupted: its
    // items' results never come (with chunksize 1 there is no such chunk),
    // and the error comes out at its position, after the earlier chunks.
    if (chunk.length > 0 && !inputError) {
      const index = next++;
      inFlight.set(
        index,
        run(chunk).then(
          (value) => ({ index, ok: true, value }),
          (value) => ({ index, ok: false, value }),
        ),
      );
    }
    if (inputError) {
      const index = next++;
      inFlight.set(index, Promise.resolve({ index, ok: false, value: inputError.error }));
    }
  }

  async function* stream(): AsyncGenerator<R, void, undefined> {
    for (;;) {
      if (scope?.aborted) throw scope.reason;
      if (ordered && settled.has(nextToYield)) {
        const { ok, value } = settled.get(nextToYield)!;
        settled.delete(nextToYield++);
        if (!ok) throw value;
        if (scope) yield* checked(value as R[], scope);
        else yield* value as R[];
        continue;
      }
      if (!reading && !exhausted && inFlight.size + settled.size < limit) reading = readChunk();
      if (!reading && inFlight.size === 0) return;
      // Whichever comes first: the next chunk of input, or a result. A slow
      // input does not hold back results that are ready.
      const waits: Promise<Read | Outcome>[] = [...inFlight.values()];
      if (reading) waits.push(reading);
      const first = await Promise.race(waits);
      if ("read" in first) {
        reading = undefined;
        submit(first.chunk, first.error);
        continue;
      }
      const { index, ok, value } = first;
      inFlight.delete(index);
      if (ordered) {
        settled.set(index, { ok, value });
      } else {
        if (!ok) throw value;
        if (scope) yield* checked(value as R[], scope);
        else yield* value as R[];
      }
    }
  }
}

/** A chunk's results, none once the call is aborted (the iteration throws its reason). */
function* checked<R>(values: R[], scope: TaskScope): Generator<R, void, undefined> {
  for (const value of values) {
    if (scope.aborted) throw scope.reason;
    yield value;
  }
}

/** A Promise for what `start` returns; a throw becomes a rejection, as from an async function. */
function settled<T>(start: () => PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(start());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs the user's callbacks, then settles; a throwing callback is reported, not swallowed. */
function withCallbacks<R>(
  settle: (ok: boolean, value: unknown) => void,
  { callback, errorCallback }: AsyncOptions<R>,
): (ok: boolean, value: unknown) => void {
  if (callback === undefined && errorCallback === undefined) return settle;
  return (ok, value) => {
    try {
      if (ok) callback?.(value as R);
      else errorCallback?.(value);
    } catch (error) {
      reportError(error);
    }
    settle(ok, value);
  };
}

/** Checks an options bag of the map family or applyAsync, and that its callbacks are functions. */
function checkCallbacks(
  options: AsyncOptions<never> & MapOptions,
  known: readonly string[],
  method: string,
): void {
  const action = `call ${method}()`;
  checkOptions(options, known, action);
  for (const name of ["callback", "errorCallback"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot ${action}: '${name}' must be a function, received ${describeValue(value)}`,
      );
    }
  }
}

/** A pool option that counts something: an integer from `min` up. */
function countOption(name: string, value: unknown, min: number, orElse = ""): number {
  const kind = min === 0 ? "a non-negative integer" : "a positive integer";
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create pool: '${name}' must be ${kind}${orElse}, received ${describeValue(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create pool: '${name}' must be ${kind}${orElse}, received ${value}`,
    );
  }
  return value;
}

/** `maxHeapMb`: a positive number of MiB, or undefined (or Infinity) for no limit. */
function heapLimit(value: unknown): number | undefined {
  if (value === undefined || value === Infinity) return undefined;
  const message = `Cannot create pool: 'maxHeapMb' must be a positive number of MiB, received ${
    typeof value === "number" ? value : describeValue(value)
  }`;
  if (typeof value !== "number") throw new TypeError(message);
  if (!(value > 0)) throw new RangeError(message);
  return value;
}

function positiveInteger(
  name: string,
  value: unknown,
  fallback: number,
  action = "create pool",
): number {
  if (value === undefined) return fallback;
  const verb = action === "create pool" ? "create pool" : `call ${action}()`;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${verb}: '${name}' must be a positive integer, received ${JSON.stringify(value)} ` +
        `(a ${typeof value})`,
    );
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Cannot ${verb}: '${name}' must be a positive integer, received ${value}`);
  }
  return value;
}

function checkIterable<T>(
  iterable: Iterable<T> | AsyncIterable<T>,
  method: string,
): Iterable<T> | AsyncIterable<T> {
  const ok = iterable != null &&
    (typeof (iterable as Iterable<T>)[Symbol.iterator] === "function" ||
      (method.startsWith("imap") &&
        typeof (iterable as AsyncIterable<T>)[Symbol.asyncIterator] === "function"));
  if (!ok) {
    throw new TypeError(`Cannot call ${method}(): the items must be iterable`);
  }
  return iterable;
}

function checkArgLists(items: unknown[], method: string): void {
  const bad = items.findIndex((item) => !Array.isArray(item));
  if (bad >= 0) {
    throw new TypeError(
      `Cannot call ${method}(): item ${bad} must be an array of arguments, received ` +
        typeof items[bad],
    );
  }
}

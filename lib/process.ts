/**
 * `Process`: Python's `multiprocessing.Process`, one exported function run on
 * a worker thread of its own.
 *
 * @module
 */
import { nextPid, threadContext } from "./_context.ts";
import { type FunctionRef, functionRef } from "./_function_ref.ts";
import { CALL, OK, type ToMain } from "./_protocol.ts";
import { fromWireError, type WireError } from "./_remote_error.ts";
import { packShared } from "./_shared_registry.ts";
import {
  loadNodeWorkerClass,
  type NodeWorkerClass,
  type PendingTask,
  WorkerHandle,
} from "./_worker_handle.ts";
import type { PoolBackend, TaskFunction } from "./pool.ts";
import { moduleUrls } from "./_module_urls.ts";
import { checkOptions } from "./_options.ts";
import { after, describeValue, MAX_DELAY, timeoutMs } from "./_timeout.ts";

/**
 * Options of {@linkcode Process}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Process, type ProcessOptions } from "./process.ts";
 * import { Queue } from "./queues.ts";
 * const tasks = "data:text/javascript,export async function greet(q, name) { await q.put(`hello ${name}`); }";
 * const { greet } = await import(tasks);
 * const q = new Queue<string>();
 * const options: ProcessOptions = { target: greet, args: [q, "world"], name: "greeter", modules: [tasks] };
 * const p = new Process(options);
 * p.start();
 * assert.equal(await q.get(), "hello world");
 * await p.join();
 * assert.equal(p.exitcode, 0);
 * ```
 */
export interface ProcessOptions {
  /** The exported function to run (by reference, like Pool tasks). */
  target: TaskFunction;
  /**
   * Its arguments; shared objects (queues, pipes) among them arrive as handles.
   * @default {[]}
   */
  args?: unknown[];
  /**
   * The process's name, also `currentProcess().name` inside it.
   * @default {"Process-N"}
   */
  name?: string;
  /**
   * A daemon process ends when the main program ends; a non-daemon one keeps
   * the program alive until it finishes, as in Python.
   * @default {false}
   */
  daemon?: boolean;
  /**
   * Modules whose exports may be the target besides the main module: URLs, or paths (a
   * relative path resolves against the main module's URL; see `PoolOptions.modules`).
   * @default {[]}
   */
  modules?: (string | URL)[];
  /**
   * `"web"` (Web Worker) or `"node"` (`node:worker_threads`: with a target
   * stuck in a loop, the program can still exit). Daemon processes always
   * run on `"node"`, the only kind of thread that can let the program end first.
   * @default {"web"}
   */
  backend?: PoolBackend;
}

const PROCESS_OPTIONS = ["target", "args", "name", "daemon", "modules", "backend"] as const;

const children = new Set<Process>();
let started = 0;

/**
 * Runs `target(...args)` on a thread of its own.
 *
 * `exitcode` is `null` while it runs, then 0 (the target returned), 1 (it
 * threw: the error is printed to stderr, as Python prints the traceback), N
 * (it called `Deno.exit(N)`, Python's `sys.exit(N)`), -15 (`terminate()`) or
 * -9 (`kill()`).
 *
 * @example
 * ```ts ignore
 * import { Process } from "jsr:@dmp/multiprocessing";
 *
 * export function runProc(name: string): void {
 *   console.log(`Run child process ${name}...`);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: runProc, args: ["test"] });
 *   p.start();
 *   await p.join();
 *   console.log(p.exitcode); // 0
 * }
 * ```
 *
 * @example Start, look, stop (the target here comes from a data: URL module)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Process } from "./process.ts";
 * const tasks = "data:text/javascript,export function forever() { return new Promise(() => {}); }";
 * const { forever } = await import(tasks);
 * const p = new Process({ target: forever, modules: [tasks] });
 * p.start();
 * assert.ok(p.isAlive());
 * p.terminate();
 * await p.join();
 * assert.equal(p.exitcode, -15);
 * ```
 */
export class Process {
  /** The process's name. */
  name: string;
  #daemon: boolean;
  #target: FunctionRef;
  #args: unknown[];
  #modules: string[];
  #backend: PoolBackend;
  #pid: number | undefined;
  #exitcode: number | null = null;
  #worker: WorkerHandle | undefined;
  #exited: Promise<void>;
  #markExited!: () => void;
  #bell = new Int32Array(new SharedArrayBuffer(4));

  /**
   * Prepares the process; `start()` runs it.
   *
   * @param options The target, its arguments and the settings.
   * @throws {TypeError} When the target cannot travel by reference, `args` is not an array, or
   *   an option name is unknown.
   */
  constructor(options: ProcessOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create process: expected options { target, args, ... }");
    }
    checkOptions(options, PROCESS_OPTIONS, "create process");
    this.#target = functionRef(options.target, "the process target");
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new TypeError("Cannot create process: 'args' must be an array of arguments");
    }
    this.#args = options.args ?? [];
    this.name = options.name ?? `Process-${++started}`;
    this.#daemon = options.daemon ?? false;
    this.#modules = moduleUrls(options.modules, "create process");
    this.#backend = options.backend ?? "web";
    if (this.#backend !== "web" && this.#backend !== "node") {
      throw new TypeError(
        `Cannot create process: 'backend' must be "web" or "node", received ${this.#backend}`,
      );
    }
    this.#exited = new Promise((resolve) => this.#markExited = resolve);
  }

  /** Whether it is a daemon (settable until `start()`). */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#pid !== undefined) {
      throw new Error("Cannot set 'daemon' of a process that has started");
    }
    this.#daemon = Boolean(value);
  }

  /** The pid (unique per worker ever started), or undefined before `start()`. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** `null` while running (or before start); then 0, 1, the code given to `Deno.exit()`, -15 or -9. */
  get exitcode(): number | null {
    return this.#exitcode;
  }

  /**
   * Starts the process.
   *
   * @throws {Error} When it was started before.
   */
  start(): void {
    if (this.#pid !== undefined) {
      throw new Error(`Cannot start ${this.name}: it was started before`);
    }
    if (threadContext().bootstrapping) {
      throw new Error(
        "Cannot start a process while a worker is importing its task modules: start " +
          "processes inside 'if (import.meta.main) { ... }'",
      );
    }
    // Shared objects among the arguments are reduced now: the caller may close
    // its own handles right after start(), also before a node worker exists.
    const args = packShared(this.#args) as unknown[];
    this.#pid = nextPid();
    children.add(this);
    this.#args = args;
    if (this.#daemon || this.#backend === "node") {
      loadNodeWorkerClass().then((NodeWorker) => this.#spawn(NodeWorker));
    } else {
      this.#spawn(undefined);
    }
  }

  /**
   * Waits until the process ends, or until `timeout` ms pass (then it returns
   * with `exitcode` still null, as in Python).
   *
   * @param timeout Milliseconds; `undefined`, `null` and `Infinity` wait forever.
   * @throws {Error} When the process was never started.
   * @throws {RangeError} When `timeout` is negative or NaN.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Process } from "./process.ts";
   * const tasks = "data:text/javascript,export function forever() { return new Promise(() => {}); }";
   * const { forever } = await import(tasks);
   * const p = new Process({ target: forever, modules: [tasks] });
   * p.start();
   * await p.join(10); // gives up after 10 ms: still running
   * assert.equal(p.exitcode, null);
   * p.terminate();
   * await p.join(Infinity);
   * assert.equal(p.exitcode, -15);
   * ```
   */
  async join(timeout?: number | null): Promise<void> {
    if (this.#pid === undefined) throw new Error(`Cannot join ${this.name}: it was not started`);
    const ms = timeoutMs(timeout, `join ${this.name}`);
    // A daemon's thread does not keep the program alive (it is unref'd), so
    // while someone waits for it, a timer does: join() blocks until the
    // daemon ends, as in Python, instead of the program ending under it.
    const keepAlive = this.#daemon && this.#exitcode === null
      ? setInterval(() => {}, MAX_DELAY)
      : undefined;
    try {
      if (ms === undefined) return await this.#exited;
      let cancel: (() => void) | undefined;
      await Promise.race([
        this.#exited,
        new Promise<void>((resolve) => cancel = after(ms, resolve)),
      ]);
      cancel!();
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Whether it has started and not yet ended. */
  isAlive(): boolean {
    return this.#pid !== undefined && this.#exitcode === null;
  }

  /**
   * Stops it now (exitcode -15). On the `"web"` backend a target stuck in a
   * synchronous loop keeps its thread (and the program) alive: when it has
   * not answered within 1 s, a warning on stderr says so; see `backend`.
   */
  terminate(): void {
    this.#stop(-15);
  }

  /** Stops it now (exitcode -9); the same as `terminate()` for threads. */
  kill(): void {
    this.#stop(-9);
  }

  /** Python spelling of {@linkcode Process.isAlive}. */
  is_alive(): boolean {
    return this.isAlive();
  }

  #spawn(NodeWorker: NodeWorkerClass | undefined): void {
    if (this.#exitcode !== null) return; // terminated before its thread existed
    const task: PendingTask = {
      fn: this.#target,
      message: [CALL, 1, this.#target.id, this.#args],
      settle: () => {},
      sentAt: 0,
      ahead: 0,
    };
    this.#worker = new WorkerHandle(
      NodeWorker,
      { pid: this.#pid!, name: this.name, unref: this.#daemon },
      {
        counters: threadContext().counters,
        // In a worker, the program's main module as its parent passed it on.
        mainModule: threadContext().mainModule ?? "",
        modules: this.#modules,
        initializer: null,
        initargs: [],
        concurrency: 1,
        resultBell: this.#bell.buffer as SharedArrayBuffer,
        oneShot: true,
      },
      {
        outcome: (_, outcome) => this.#onOutcome(outcome),
        ready: () => {},
        initFailed: (_, error) => this.#fail(fromWireError(error)),
        // Deno.exit(N) ends it with exitcode N, quietly, as sys.exit(N) does in Python.
        death: (_, reason, exitCode) =>
          exitCode === undefined
            ? this.#finish(1, `Process ${this.name} ${reason}`)
            : this.#finish(exitCode),
      },
    );
    this.#worker.send(task);
    this.#worker.flush();
    this.#watch();
  }

  /** Waits for the outcome without keeping the program alive (the worker does that). */
  #watch(): void {
    const seen = Atomics.load(this.#bell, 0);
    this.#worker?.drain();
    if (this.#exitcode !== null) return;
    const wait = Atomics.waitAsync(this.#bell, 0, seen);
    if (wait.async) wait.value.then(() => this.#watch());
    else queueMicrotask(() => this.#watch());
  }

  #onOutcome([kind, , value]: ToMain): void {
    if (kind === OK) this.#finish(0);
    else this.#fail(fromWireError(value as WireError));
  }

  #fail(error: unknown): void {
    const text = error instanceof Error
      ? `${(error.cause as Error | undefined)?.message ?? error.stack ?? error.message}`
      : `Uncaught ${inspect(error)}`;
    this.#finish(1, `Process ${this.name}:\n${text}`);
  }

  #stop(code: number): void {
    if (this.#pid === undefined) throw new Error(`Cannot stop ${this.name}: it was not started`);
    if (this.#exitcode !== null) return;
    this.#finish(code, undefined, true);
  }

  #finish(code: number, report?: string, stopped = false): void {
    if (this.#exitcode !== null) return;
    this.#exitcode = code;
    if (report) console.error(report);
    children.delete(this);
    const worker = this.#worker;
    this.#worker = undefined;
    // Wake the watcher so no waitAsync is left pending.
    Atomics.add(this.#bell, 0, 1);
    Atomics.notify(this.#bell, 0);
    // Stopped from outside (terminate/kill), a target stuck in a loop on a
    // Web Worker keeps running: warn rather than leave a program that never ends.
    const onStuck = stopped ? () => this.#warnStuck(worker!) : undefined;
    (worker ? worker.terminate(onStuck) : Promise.resolve()).finally(() => this.#markExited());
  }

  #warnStuck(worker: WorkerHandle): void {
    console.warn(
      `Warning: process ${this.name} (pid ${worker.pid}) did not stop within 1 s of ` +
        `terminate(): its target '${this.#target.name}' seems stuck in a synchronous loop, ` +
        `which a Web Worker cannot be stopped in, so the program may never exit. Use ` +
        `backend: "node" for targets that may hang: the program can then exit.`,
    );
  }
}

/** How a thrown non-Error is printed: as Deno prints it, or described when that fails. */
function inspect(value: unknown): string {
  try {
    return Deno.inspect(value);
  } catch {
    return describeValue(value);
  }
}

/**
 * The processes started by this thread that are still running (Python's
 * `multiprocessing.active_children()`).
 *
 * @returns The running children.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activeChildren } from "./process.ts";
 * assert.ok(activeChildren().length === 0);
 * ```
 */
export function activeChildren(): Process[] {
  return [...children];
}

/**
 * Python spelling of {@linkcode activeChildren}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { active_children } from "./process.ts";
 * assert.deepEqual(active_children(), []); // no process started yet
 * ```
 */
export const active_children: typeof activeChildren = activeChildren;

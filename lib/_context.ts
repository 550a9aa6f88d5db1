// Who this thread is. The main thread is "MainProcess"; a worker learns its
// name and pid from its init message. Pids come from one shared counter that
// every worker inherits, so they are unique per worker ever started, also for
// pools started inside workers. `counters` slot 0 numbers workers, slot 1
// shared objects.

interface Context {
  name: string;
  pid: number;
  counters: SharedArrayBuffer;
  /** True while a worker imports task modules: starting a pool then is a bug. */
  bootstrapping: boolean;
}

const context: Context = {
  name: "MainProcess",
  pid: Deno.pid,
  counters: new SharedArrayBuffer(8),
  bootstrapping: false,
};

/** This thread's identity. */
export function threadContext(): Readonly<Context> {
  return context;
}

/** Called once by the worker entry before it imports any task module. */
export function enterWorker(name: string, pid: number, counters: SharedArrayBuffer): void {
  context.name = name;
  context.pid = pid;
  context.counters = counters;
}

/** Marks the start and end of a worker's module imports. */
export function setBootstrapping(on: boolean): void {
  context.bootstrapping = on;
}

/** The next worker pid (1, 2, 3, ... across the whole program). */
export function nextPid(): number {
  return Atomics.add(new Int32Array(context.counters), 0, 1) + 1;
}

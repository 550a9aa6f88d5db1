// Which task the running code belongs to, inside a worker: what taskSignal()
// reads. The worker runtime installs the context; taskSignal() finds it
// through a global symbol, not a module variable, so a task module that loads
// another copy of the library (another version, or the same files under
// another URL) still finds the running task.

/** What the worker runtime tells taskSignal(). */
export interface TaskContext {
  /** The signal of the task running now, or undefined outside any task. */
  signal(): AbortSignal | undefined;
}

const KEY = Symbol.for("@dmp/multiprocessing.taskContext");

/** Called once by the worker runtime. */
export function installTaskContext(context: TaskContext): void {
  (globalThis as Record<symbol, unknown>)[KEY] = context;
}

/** The context the worker runtime installed; undefined on a thread that runs no tasks. */
export function taskContext(): TaskContext | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as TaskContext | undefined;
}

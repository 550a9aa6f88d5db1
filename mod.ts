/**
 * Python's `multiprocessing` for Deno: a `Pool` of worker threads with
 * `apply`, `applyAsync`, `map`, `imap` and callbacks, spoken in Deno's idiom
 * (camelCase, milliseconds, `await` where Python blocks) with the Python
 * spellings as aliases.
 *
 * Task functions travel by reference: export them from the main module (or a
 * module listed in `PoolOptions.modules`) and guard the script's own work with
 * `if (import.meta.main)`, Deno's `if __name__ == "__main__"`.
 *
 * @example A pool of workers
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
 *   pool.applyAsync(square, [7], { callback: (r) => console.log(r) }); // 49
 * }
 * ```
 *
 * @module
 */
export * from "./lib/pool.ts";
export * from "./lib/async_result.ts";
export * from "./lib/errors.ts";
export * from "./lib/process_info.ts";
export * from "./lib/queues.ts";
export * from "./lib/connection.ts";
export * from "./lib/process.ts";
export * from "./lib/synchronize.ts";
export * from "./lib/shared_memory.ts";
export * from "./lib/barrier.ts";
export * from "./lib/managers.ts";
export * from "./lib/listener.ts";
export * from "./lib/base_manager.ts";

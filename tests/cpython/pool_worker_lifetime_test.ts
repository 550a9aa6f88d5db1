// CPython's _TestPoolWorkerLifetime (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_worker_finalization_via_atexit_handler_of_multiprocessing: a script that leaves a pool
//   open exits through Python's atexit handler. Here a pool that is never closed keeps the
//   program alive, as any Deno Worker does (by design: use `await using`).
import assert from "node:assert/strict";
import { Pool } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

Deno.test("_TestPoolWorkerLifetime.test_pool_worker_lifetime", async () => {
  const p = new Pool({ processes: 3, maxtasksperchild: 10, modules });
  assert.equal(3, p.processes); // len(p._pool)
  // CPython reads the workers' pids from p._pool before and after; a pool here does not list its
  // workers, so each task reports the pid of the worker that ran it.
  // Run many tasks so each worker gets replaced (hopefully)
  const results = [];
  for (let i = 0; i < 100; i++) results.push(p.apply_async(tasks.sqrAndPid, [i]));
  // Fetch the results and verify we got the right answers,
  // also ensuring all the tasks have completed.
  const pids = new Map<number, number>();
  for (const [j, res] of results.entries()) {
    const [square, pid] = await res.get();
    assert.equal(square, j * j);
    pids.set(pid, (pids.get(pid) ?? 0) + 1);
  }
  // All pids should be assigned.  See issue #7805.
  assert.ok(![...pids.keys()].some((pid) => pid == null));
  // Finally, check that the worker pids have changed: no worker ran more than 10 tasks, so the
  // 100 tasks ran on at least 10 workers.
  assert.ok(pids.size >= 10, `only ${pids.size} workers ran the 100 tasks`);
  for (const count of pids.values()) assert.ok(count <= 10);
  p.close();
  await p.join();
});

Deno.test("_TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close", async () => {
  // Issue #10332: closing a pool whose workers have limited lifetimes
  // before all the tasks completed would make join() hang.
  const p = new Pool({ processes: 3, maxtasksperchild: 1, modules });
  const results = [];
  for (let i = 0; i < 6; i++) results.push(p.apply_async(tasks.sqr, [i, 300]));
  p.close();
  await p.join();
  // check the results
  for (const [j, res] of results.entries()) assert.equal(await res.get(), j * j);
});

Deno.test("_TestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid", () => {
  // Python raises ValueError for each; here a number that is not a positive integer is a
  // RangeError and a string a TypeError.
  for (const value of [0, -1, 0.5]) {
    assert.throws(() => new Pool({ processes: 3, maxtasksperchild: value, modules }), RangeError);
  }
  assert.throws(
    () => new Pool({ processes: 3, maxtasksperchild: "12" as unknown as number, modules }),
    TypeError,
  );
});

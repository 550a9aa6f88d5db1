import assert from "node:assert/strict";
import { Barrier, BrokenBarrierError, Pool, Value } from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Barrier releases all parties across threads, each with a unique index, then resets", async () => {
  await using pool = new Pool({ processes: 2, modules });
  const barrier = new Barrier(3);
  for (let round = 0; round < 3; round++) {
    const indices = await Promise.all([
      pool.apply(ipc.meetAt, [barrier]),
      pool.apply(ipc.meetAt, [barrier]),
      barrier.wait(),
    ]);
    assert.deepEqual(indices.sort(), [0, 1, 2]);
  }
  assert.equal(barrier.parties, 3);
  assert.equal(barrier.n_waiting, 0);
});

Deno.test("Barrier runs its action once per round, in whichever thread arrives last", async () => {
  await using pool = new Pool({ processes: 2, modules });
  const runs = new Value("i", 0);
  ipc.setActionCounter(runs);
  const barrier = new Barrier(3, { action: ipc.countAction });
  for (let round = 0; round < 3; round++) {
    await Promise.all([
      pool.apply(ipc.countAndMeet, [runs, barrier]),
      pool.apply(ipc.countAndMeet, [runs, barrier]),
      barrier.wait(),
    ]);
  }
  assert.equal(runs.value, 3);
});

Deno.test("Barrier: a timeout breaks it; abort() and reset() work as in Python", async () => {
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait(50), BrokenBarrierError);
  assert.ok(barrier.broken);
  await assert.rejects(barrier.wait(), /the barrier is broken/);
  barrier.reset();
  assert.ok(!barrier.broken);
  const waiting = barrier.wait();
  barrier.reset(); // the waiting thread gets BrokenBarrierError
  await assert.rejects(waiting, BrokenBarrierError);
  const second = barrier.wait();
  barrier.abort();
  await assert.rejects(second, BrokenBarrierError);
  assert.throws(() => new Barrier(0), RangeError);
});

Deno.test("Barrier: threads beyond parties wait for the next round", async () => {
  const barrier = new Barrier(2);
  const results = await Promise.all([
    barrier.wait(),
    barrier.wait(),
    barrier.wait(),
    barrier.wait(),
  ]);
  assert.deepEqual(results.sort(), [0, 0, 1, 1]);
});

// pool.stats(): counts, times over the sliding window, utilization; and
// asCompleted(), which yields results as they settle.
import assert from "node:assert/strict";
import { asCompleted, AsyncResult, Pool, TimeoutError } from "../mod.ts";
import * as control from "./fixtures/control_tasks.ts";
import { cellReaches, release } from "./_cells.ts";

const { CELL } = control;
const modules = [new URL("./fixtures/control_tasks.ts", import.meta.url)];

function pool(options: ConstructorParameters<typeof Pool>[0] & object = {}): Pool {
  return new Pool({ processes: 1, modules, ...options });
}

Deno.test("stats() counts completed, failed and cancelled tasks, and shows the pool now", async () => {
  await using p = pool();
  const empty = p.stats();
  assert.deepEqual(empty.runTime, { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  assert.equal(empty.utilization, 0);
  const flag = new SharedArrayBuffer(16);
  const cells = new Int32Array(flag);
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const waiting = [1, 2, 3].map((v) => p.apply(control.nap, [0, v]));
  const failing = p.apply(control.failWith, ["no"]);
  const controller = new AbortController();
  const cancelled = p.apply(control.nap, [0, 4], { signal: controller.signal });
  controller.abort();
  await assert.rejects(cancelled, { name: "AbortError" });
  const now = p.stats();
  assert.equal(now.processes, 1);
  assert.equal(now.busy, 1);
  assert.equal(now.idle, 0);
  assert.equal(now.queued, 4);
  assert.equal(now.cancelled, 1);
  release(cells);
  await holder;
  await Promise.all(waiting);
  await assert.rejects(failing, /no/);
  const after = p.stats();
  assert.equal(after.completed, 4);
  assert.equal(after.failed, 1);
  assert.equal(after.cancelled, 1);
  assert.equal(after.queued, 0);
  assert.equal(after.busy, 0);
  assert.equal(after.idle, 1);
  assert.equal(after.runTime.count, 5, "every task that ran, failed ones too");
  assert.ok(after.utilization > 0 && after.utilization <= 1, `utilization ${after.utilization}`);
});

Deno.test("stats() times: runTime is how long tasks ran, waitTime how long they waited to start", async () => {
  await using p = pool();
  // Four 40 ms tasks on one worker: each waits for those before it.
  await Promise.all(
    [1, 2, 3, 4].map(() => p.apply(control.busy, [new SharedArrayBuffer(16), 40])),
  );
  const { runTime, waitTime } = p.stats();
  assert.equal(runTime.count, 4);
  assert.ok(runTime.p50 >= 39 && runTime.p50 < 1000, `runTime ${JSON.stringify(runTime)}`);
  assert.ok(runTime.max >= runTime.p99);
  assert.ok(runTime.p99 >= runTime.p90 && runTime.p90 >= runTime.p50);
  assert.ok(Math.abs(runTime.mean - runTime.p50) < 100);
  // The last waited for the three before it, ~120 ms.
  assert.ok(waitTime.max >= 110, `waitTime ${JSON.stringify(waitTime)}`);
  assert.ok(waitTime.max < 60_000);
});

Deno.test("stats() covers the last 1024 tasks; a map chunk counts as one task", async () => {
  await using p = pool();
  await p.map(control.pid, Array(3000).fill(0), { chunksize: 1 });
  const stats = p.stats();
  assert.equal(stats.completed, 3000);
  assert.equal(stats.runTime.count, 1024);
  assert.equal(stats.waitTime.count, 1024);
  await p.map(control.pid, Array(100).fill(0), { chunksize: 10 });
  assert.equal(p.stats().completed, 3010);
});

Deno.test("stats: false keeps the counts and leaves the times empty", async () => {
  await using p = pool({ stats: false });
  await p.map(control.pid, Array(10).fill(0), { chunksize: 1 });
  const stats = p.stats();
  assert.equal(stats.completed, 10);
  assert.equal(stats.runTime.count, 0);
  assert.equal(stats.utilization, 0);
  assert.throws(() => pool({ stats: 1 as never }), {
    name: "TypeError",
    message: "Cannot create pool: 'stats' must be true or false, received 1",
  });
});

/** A result settled by the test: `settle(ok, value)`. */
function manual<T>(): { result: AsyncResult<T>; settle: (ok: boolean, value: unknown) => void } {
  let settle!: (ok: boolean, value: unknown) => void;
  const result = new AsyncResult<T>((s) => settle = s);
  return { result, settle };
}

Deno.test("asCompleted() yields results in the order they settle, failed ones too, each once", async () => {
  const [a, b, c] = [manual<string>(), manual<string>(), manual<string>()];
  const order: string[] = [];
  const iteration = (async () => {
    for await (const r of asCompleted([a.result, b.result, c.result, a.result])) {
      order.push(await Promise.resolve(r).catch((e: Error) => `error ${e.message}`));
    }
  })();
  b.settle(true, "b");
  await Promise.resolve();
  c.settle(false, new Error("c"));
  a.settle(true, "a");
  await iteration;
  assert.deepEqual(order, ["b", "error c", "a"]);
});

Deno.test("asCompleted() works on a pool's results and finishes with the last", async () => {
  await using p = new Pool({ processes: 2, modules });
  const results = [60, 1, 30].map((ms) => p.applyAsync(control.nap, [ms, ms]));
  const order = [];
  for await (const r of asCompleted(results)) {
    assert.ok((r as unknown) instanceof AsyncResult, "the results themselves");
    assert.ok(results.includes(r as never));
    order.push(await r);
  }
  assert.deepEqual(order.sort((x, y) => (x as number) - (y as number)), [1, 30, 60]);
  assert.equal(order.length, 3);
  const none: unknown[] = [];
  for await (const r of asCompleted([])) none.push(r);
  assert.deepEqual(none, []);
});

Deno.test("asCompleted(results, timeout) throws TimeoutError once the time from the call is up", async () => {
  const slow = manual<number>();
  const fast = manual<number>();
  fast.settle(true, 1);
  const seen: number[] = [];
  const started = performance.now();
  await assert.rejects(async () => {
    for await (const r of asCompleted([slow.result, fast.result], 50)) seen.push(await r);
  }, (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(
      e.message,
      "Timed out after 50 ms in asCompleted(): 1 of 2 results had not settled; their tasks keep running",
    );
    return true;
  });
  assert.deepEqual(seen, [1]);
  assert.ok(performance.now() - started >= 45);
  // A timeout large enough to overflow setTimeout still waits.
  slow.settle(true, 2);
  for await (const r of asCompleted([slow.result], 2 ** 31)) assert.equal(await r, 2);
});

Deno.test("Leaving asCompleted() early stops its timer (the sanitizer checks)", async () => {
  const never = manual<number>();
  const done = manual<number>();
  done.settle(true, 3);
  for await (const r of asCompleted([never.result, done.result], 60_000)) {
    assert.equal(await r, 3);
    break;
  }
});

Deno.test("asCompleted() refuses a bad timeout or input at the call", () => {
  assert.throws(() => asCompleted([], -1), {
    name: "RangeError",
    message:
      "Cannot call asCompleted(): 'timeout' must be a non-negative number of ms or Infinity, received -1",
  });
  assert.throws(() => asCompleted(5 as never), /'results' must be iterable/);
  assert.throws(() => asCompleted([5 as never]), /'results' item 0 must be an AsyncResult/);
});

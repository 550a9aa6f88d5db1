// The bounded queue (maxQueue): applyAsync throws Full when it is full, apply
// and the maps wait for room, the imaps read no further ahead, waitForRoom()
// lets a producer keep its memory flat.
import assert from "node:assert/strict";
import { Full, Pool } from "../mod.ts";
import * as control from "./fixtures/control_tasks.ts";
import { cellReaches, newCells, pending, release } from "./_cells.ts";
import * as tasks from "./fixtures/tasks.ts";

const { CELL } = control;
const modules = [
  new URL("./fixtures/control_tasks.ts", import.meta.url),
  new URL("./fixtures/tasks.ts", import.meta.url),
];

function pool(options: ConstructorParameters<typeof Pool>[0] & object = {}): Pool {
  return new Pool({ processes: 1, modules, ...options });
}

Deno.test("applyAsync on a full queue throws Full; waitForRoom() resolves when a place frees", async () => {
  await using p = pool({ maxQueue: 2 });
  const { cells, flag } = newCells();
  const holder = p.applyAsync(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const queued = [p.applyAsync(tasks.square, [1]), p.applyAsync(tasks.square, [2])];
  assert.throws(() => p.applyAsync(tasks.square, [3]), (e: unknown) => {
    assert.ok(e instanceof Full);
    assert.equal(
      e.message,
      "Cannot submit task 'square': the pool's queue is full (maxQueue 2); await " +
        "pool.waitForRoom() before applyAsync(), or use apply(), which waits for room",
    );
    return true;
  });
  // With per-task options too, and nothing was queued by the refused calls.
  assert.throws(() => p.applyAsync(tasks.square, [3], { timeout: 1000 }), Full);
  assert.equal(p.stats().queued, 2);
  const room = p.waitForRoom();
  assert.ok(await pending(room), "no room while the worker holds");
  release(cells);
  await room;
  p.applyAsync(tasks.square, [4]); // does not throw
  assert.deepEqual(await Promise.all([holder, ...queued]), [0, 1, 4]);
});

Deno.test("apply, map, starmap and the async maps wait for room instead of throwing", async () => {
  await using p = pool({ maxQueue: 1 });
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const applied = [p.apply(tasks.square, [2]), p.apply(tasks.square, [3])];
  const mapped = p.map(tasks.square, [1, 2, 3, 4], { chunksize: 1 });
  const starred = p.starmap(tasks.add, [[1, 1], [2, 2]], { chunksize: 1 });
  const mappedAsync = p.mapAsync(tasks.square, [5, 6], { chunksize: 1 });
  const starredAsync = p.starmapAsync(tasks.add, [[3, 3]]);
  assert.equal(p.stats().queued, 1 + 1 + 4 + 2 + 2 + 1, "held back, counted as waiting");
  assert.throws(() => p.applyAsync(tasks.square, [1]), Full);
  assert.ok(await pending(p.waitForRoom()));
  release(cells);
  assert.equal(await holder, 0);
  assert.deepEqual(await Promise.all(applied), [4, 9]);
  assert.deepEqual(await mapped, [1, 4, 9, 16]);
  assert.deepEqual(await starred, [2, 4]);
  assert.deepEqual(await mappedAsync, [25, 36]);
  assert.deepEqual(await starredAsync, [6]);
  assert.equal(p.stats().queued, 0);
});

Deno.test("A task held back by maxQueue can be cancelled: it rejects at once and never runs", async () => {
  await using p = pool({ maxQueue: 1 });
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const first = p.apply(control.counted, [flag, 1]);
  const controller = new AbortController();
  const held = p.apply(control.counted, [flag, 2], { signal: controller.signal });
  const heldMap = p.map(control.counted, [flag, flag], { signal: controller.signal });
  controller.abort();
  await assert.rejects(held, { name: "AbortError" });
  await assert.rejects(heldMap, { name: "AbortError" });
  release(cells);
  await holder;
  assert.equal(await first, 1);
  assert.equal(Atomics.load(cells, CELL.STARTED), 2, "the holder and the first ran, no more");
});

Deno.test("imap with maxQueue reads no further ahead than the queue holds", async () => {
  await using p = pool({ maxQueue: 1 });
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  let produced = 0;
  function* input() {
    for (let i = 0; i < 100; i++) {
      produced++;
      yield i;
    }
  }
  const seen: number[] = [];
  const iteration = (async () => {
    for await (const r of p.imap(tasks.square, input())) seen.push(r);
  })();
  assert.ok(await pending(iteration));
  assert.equal(produced, 1, "one input waits in the queue; the next waits for room");
  assert.equal(p.stats().queued, 1);
  release(cells);
  await iteration;
  await holder;
  assert.equal(seen.length, 100);
  assert.equal(seen[99], 99 * 99);
});

Deno.test("A producer that waits for room keeps its memory flat (200k tasks)", async () => {
  const script = new URL("./fixtures/room_memory_script.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--v8-flags=--expose-gc", script.href, "200000"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  const { quarter, end, mostQueued, done, maxQueue } = JSON.parse(text.decode(out.stdout));
  assert.equal(done, 200_000);
  assert.ok(mostQueued <= maxQueue, `${mostQueued} tasks waited`);
  // 150k more tasks in flight would hold tens of MiB; a flat producer holds none of them.
  assert.ok(
    end - quarter < 4,
    `heap ${quarter.toFixed(1)} MiB at 50k tasks, ${end.toFixed(1)} at 200k`,
  );
});

Deno.test("waitForRoom() resolves at once without maxQueue, and once the pool is closed", async () => {
  {
    await using p = pool();
    for (let i = 0; i < 1000; i++) p.applyAsync(tasks.square, [i]);
    assert.ok(!(await pending(p.waitForRoom())));
  }
  const p = pool({ maxQueue: 1 });
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const queued = p.apply(tasks.square, [2]);
  const room = p.waitForRoom();
  assert.ok(await pending(room));
  p.close(); // a waiter would wait for ever: its submit will throw instead
  await room;
  assert.throws(() => p.applyAsync(tasks.square, [1]), /the pool is closed/);
  release(cells);
  await p.join();
  assert.equal(await queued, 4);
  await holder;
});

Deno.test("maxQueue is validated", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => pool({ maxQueue: bad }), {
      name: "RangeError",
      message:
        `Cannot create pool: 'maxQueue' must be a positive integer or Infinity, received ${bad}`,
    });
  }
  assert.throws(() => pool({ maxQueue: "10" as never }), {
    name: "TypeError",
    message: `Cannot create pool: 'maxQueue' must be a positive integer or Infinity, received "10"`,
  });
});

Deno.test("waitForRoom() wakes every waiter once there is room, also when the woken submit nothing", async () => {
  await using p = pool({ maxQueue: 2 });
  const { cells, flag } = newCells();
  const holder = p.applyAsync(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const queued = [p.applyAsync(tasks.square, [1]), p.applyAsync(tasks.square, [2])];
  let woken = 0;
  const waiters = Array.from({ length: 10 }, () => p.waitForRoom().then(() => woken++));
  release(cells);
  await Promise.all([holder, ...queued]);
  // None of them submits: each must still be woken (they reserve no place).
  await Promise.all(waiters);
  assert.equal(woken, 10);
});

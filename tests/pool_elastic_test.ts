// Elastic pools (minProcesses, idleTimeout) and the heap limit (maxHeapMb):
// workers start on demand, idle ones above the minimum exit, an idle pool
// holds the program no longer than a fixed one, and a worker whose heap grew
// past the limit is replaced between tasks.
import assert from "node:assert/strict";
import { Pool } from "../mod.ts";
import * as control from "./fixtures/control_tasks.ts";
import { cellReaches, newCells, release } from "./_cells.ts";

const { CELL } = control;
const modules = [new URL("./fixtures/control_tasks.ts", import.meta.url)];

function pool(options: ConstructorParameters<typeof Pool>[0] & object = {}): Pool {
  return new Pool({ processes: 3, modules, ...options });
}

/** Waits until `check()` holds, looking every 20 ms (30 s at most). */
async function eventually(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!check()) {
    assert.ok(performance.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("An elastic pool grows to processes under load and shrinks back to minProcesses when idle", async () => {
  await using p = pool({ minProcesses: 1, idleTimeout: 100 });
  const { cells, flag } = newCells();
  const first = await p.apply(control.pid);
  assert.equal(p.stats().processes, 1);
  // Three tasks that hold their worker run at once: the pool grew to three workers.
  const held = [1, 2, 3].map((v) => p.apply(control.holdIgnoring, [flag, v]));
  await cellReaches(cells, CELL.STARTED, 3);
  assert.deepEqual({ ...p.stats(), runTime: 0, waitTime: 0, utilization: 0 }, {
    processes: 3,
    busy: 3,
    idle: 0,
    queued: 0,
    completed: 1,
    failed: 0,
    cancelled: 0,
    requeued: 0,
    runTime: 0,
    waitTime: 0,
    utilization: 0,
  });
  release(cells);
  assert.deepEqual(await Promise.all(held), [1, 2, 3]);
  await eventually("the idle workers above minProcesses exited", () => p.stats().processes === 1);
  // The oldest worker stayed: the pool fills its first workers first.
  assert.equal(await p.apply(control.pid), first);
  // And it grows again.
  const again = newCells();
  const heldAgain = [1, 2].map((v) => p.apply(control.holdIgnoring, [again.flag, v]));
  await cellReaches(again.cells, CELL.STARTED, 2);
  release(again.cells);
  await Promise.all(heldAgain);
});

Deno.test("An elastic pool with minProcesses 0 starts no worker until a task comes, and ends with none", async () => {
  await using p = pool({ minProcesses: 0, idleTimeout: 50 });
  assert.equal(p.stats().processes, 0);
  const first = await p.apply(control.pid);
  assert.equal(p.stats().processes, 1);
  await eventually("the worker idled out", () => p.stats().processes === 0);
  const second = await p.apply(control.pid);
  assert.notEqual(second, first, "a new worker");
});

Deno.test("idleTimeout 2 ** 31 keeps the grown workers (no timer fires early)", async () => {
  await using p = pool({ minProcesses: 1, idleTimeout: 2 ** 31 });
  const { cells, flag } = newCells();
  const held = [1, 2, 3].map((v) => p.apply(control.holdIgnoring, [flag, v]));
  await cellReaches(cells, CELL.STARTED, 3);
  release(cells);
  await Promise.all(held);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(p.stats().processes, 3);
});

Deno.test("An elastic pool holds the program no longer than a fixed pool; an open one with minProcesses 0 lets it end", async () => {
  const run = async (mode: string) => {
    const started = performance.now();
    const script = new URL("./fixtures/elastic_exit_script.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", script.href, mode],
      stdout: "piped",
      stderr: "piped",
      // The elastic pool's idle timeout is 60 s: a pool that waited for it fails here.
      signal: AbortSignal.timeout(40_000),
    }).output();
    const text = new TextDecoder();
    assert.equal(out.code, 0, text.decode(out.stderr));
    return { ms: performance.now() - started, stdout: text.decode(out.stdout) };
  };
  const fixed = await run("fixed");
  const elastic = await run("elastic");
  const open = await run("open");
  assert.equal(fixed.stdout, "2,2 2\nend of main\n");
  assert.equal(elastic.stdout, "2,2 2\nend of main\n");
  assert.equal(open.stdout, "2,2 2\nend of main\n");
  assert.ok(elastic.ms < fixed.ms + 10_000, `elastic ${elastic.ms} ms, fixed ${fixed.ms} ms`);
});

Deno.test("Elastic options are validated with clear errors", () => {
  assert.throws(() => pool({ minProcesses: 4 }), {
    name: "RangeError",
    message: "Cannot create pool: 'minProcesses' must be at most 'processes' (3), received 4",
  });
  assert.throws(() => pool({ minProcesses: -1 }), {
    name: "RangeError",
    message: "Cannot create pool: 'minProcesses' must be a non-negative integer, received -1",
  });
  assert.throws(() => pool({ minProcesses: 1.5 }), RangeError);
  assert.throws(() => pool({ minProcesses: NaN }), RangeError);
  assert.throws(() => pool({ minProcesses: "1" as never }), TypeError);
  assert.throws(() => pool({ idleTimeout: -5 }), {
    name: "RangeError",
    message:
      "Cannot create pool: 'idleTimeout' must be a non-negative number of ms or Infinity, received -5",
  });
  assert.throws(() => pool({ idleTimeout: NaN }), RangeError);
  assert.throws(() => pool({ idleTimeout: "5" as never }), TypeError);
  assert.throws(() => pool({ minProcesses: 2 ** 31 }), /must be at most 'processes'/);
});

for (const backend of ["web", "node"] as const) {
  Deno.test(`maxHeapMb replaces a worker whose heap grew past it, between tasks (${backend})`, async () => {
    await using p = pool({ processes: 1, backend, maxHeapMb: 64 });
    const first = await p.apply(control.pid);
    assert.equal(await p.apply(control.pid), first, "a small heap: the same worker");
    assert.equal(await p.apply(control.growHeap, [100]), first, "the task itself finishes");
    const second = await p.apply(control.pid);
    assert.notEqual(second, first, "replaced after the task that grew its heap");
    assert.equal(await p.apply(control.pid), second);
  });
}

Deno.test("maxHeapMb is validated", () => {
  for (const bad of [0, -1, NaN]) {
    assert.throws(() => pool({ maxHeapMb: bad }), {
      name: "RangeError",
      message: `Cannot create pool: 'maxHeapMb' must be a positive number of MiB, received ${bad}`,
    });
  }
  assert.throws(() => pool({ maxHeapMb: "64" as never }), TypeError);
});

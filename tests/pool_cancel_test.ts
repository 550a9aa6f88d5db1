// Cancellation and per-task timeouts: `{ signal, timeout }` on every method
// that runs tasks, taskSignal() in the worker, the grace period after which a
// worker whose cancelled task does not stop is replaced, and what happens to
// the other tasks of that worker.
import assert from "node:assert/strict";
import { Pipe, Pool, Queue, taskSignal, TimeoutError } from "../mod.ts";
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

Deno.test("A signal aborted before submit rejects at once with its reason, and nothing runs", async () => {
  await using p = pool();
  const { cells, flag } = newCells();
  const signal = AbortSignal.abort(new RangeError("given up"));
  const isReason = (e: unknown) => e === signal.reason;
  await assert.rejects(p.apply(control.counted, [flag, 1], { signal }), isReason);
  const result = p.applyAsync(control.counted, [flag, 1], { signal });
  assert.ok(result.ready(), "applyAsync settled at once");
  await assert.rejects(result.get(), isReason);
  await assert.rejects(p.map(control.counted, [flag], { signal }), isReason);
  const mapped = p.mapAsync(control.counted, [flag], { signal });
  assert.ok(mapped.ready());
  await assert.rejects(mapped.get(), isReason);
  await assert.rejects(p.starmap(control.counted, [[flag, 1]], { signal }), isReason);
  await assert.rejects(p.starmapAsync(control.counted, [[flag, 1]], { signal }).get(), isReason);
  for (const method of ["imap", "imapUnordered"] as const) {
    await assert.rejects(async () => {
      for await (const _ of p[method](control.counted, [flag], { signal })) {
        assert.fail("no result expected");
      }
    }, isReason);
  }
  let reported: unknown;
  await p.applyAsync(control.counted, [flag, 1], { signal, errorCallback: (e) => reported = e })
    .wait();
  assert.equal(reported, signal.reason);
  assert.equal(await p.apply(control.counted, [flag, 7]), 7);
  assert.equal(Atomics.load(cells, CELL.STARTED), 1, "only the last task ran");
  assert.equal(p.stats().cancelled, 0, "nothing was submitted to cancel");
});

Deno.test("Aborting a queued task removes it: it rejects at once with an AbortError and never runs", async () => {
  await using p = pool();
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 1]);
  await cellReaches(cells, CELL.STARTED, 1);
  const controller = new AbortController();
  const queued = p.applyAsync(control.counted, [flag, 2], { signal: controller.signal });
  const queuedApply = p.apply(control.counted, [flag, 3], { signal: controller.signal });
  await Promise.resolve();
  assert.equal(p.stats().queued, 2);
  controller.abort();
  assert.ok(queued.ready(), "rejected synchronously at abort()");
  await assert.rejects(queued.get(), (e: unknown) => {
    assert.ok(e instanceof DOMException && e.name === "AbortError");
    return true;
  });
  await assert.rejects(queuedApply, { name: "AbortError" });
  assert.equal(p.stats().queued, 0);
  release(cells);
  assert.equal(await holder, 1);
  assert.equal(await p.apply(control.pid), await p.apply(control.pid));
  assert.equal(Atomics.load(cells, CELL.STARTED), 1, "the cancelled tasks never ran");
  const stats = p.stats();
  assert.equal(stats.cancelled, 2);
  assert.equal(stats.completed, 3);
});

Deno.test("Aborting a running task rejects its caller at once and aborts its taskSignal() with the reason", async () => {
  await using p = pool();
  const reasons = new Queue<unknown>();
  const { cells, flag } = newCells();
  const before = await p.apply(control.pid);
  const controller = new AbortController();
  const running = p.apply(control.untilAborted, [flag, reasons], { signal: controller.signal });
  await cellReaches(cells, CELL.STARTED, 1);
  controller.abort(new Error("user left"));
  await assert.rejects(running, { message: "user left" });
  await cellReaches(cells, CELL.ABORTED, 1);
  assert.deepEqual(await reasons.get(), {
    name: "Error",
    message: "user left",
    isDOMException: false,
  });
  // The task stopped by itself: the worker is the same one.
  assert.equal(await p.apply(control.pid), before);
  const stats = p.stats();
  assert.equal(stats.cancelled, 1);
  assert.equal(stats.requeued, 0);
});

Deno.test("The default abort reason reaches the task as an AbortError DOMException; other reasons as themselves", async () => {
  await using p = pool();
  const reasons = new Queue<unknown>();
  const { cells, flag } = newCells();
  for (const [i, reason] of [undefined, "a string", { code: 7 }].entries()) {
    const controller = new AbortController();
    const running = p.apply(control.untilAborted, [flag, reasons], { signal: controller.signal });
    await cellReaches(cells, CELL.STARTED, i + 1);
    if (reason === undefined) controller.abort();
    else controller.abort(reason);
    await assert.rejects(running, (e: unknown) => e === controller.signal.reason);
    await cellReaches(cells, CELL.ABORTED, i + 1);
  }
  assert.deepEqual(await reasons.get(), {
    name: "AbortError",
    message: "The signal has been aborted",
    isDOMException: true,
  });
  assert.deepEqual(await reasons.get(), { value: "a string" });
  assert.deepEqual(await reasons.get(), { value: { code: 7 } });
});

Deno.test("Aborting after the task finished changes nothing", async () => {
  await using p = pool();
  const { flag } = newCells();
  const controller = new AbortController();
  const result = p.applyAsync(control.counted, [flag, 5], { signal: controller.signal });
  assert.equal(await result, 5);
  controller.abort();
  assert.ok(result.successful());
  assert.equal(await result.get(), 5);
  assert.equal(p.stats().cancelled, 0);
});

Deno.test("timeout rejects a synchronous task with a TimeoutError; the worker lives on once it finishes", async () => {
  await using p = pool({ cancelGraceMs: 30_000 });
  const { cells, flag } = newCells();
  const worker = await p.apply(control.pid);
  const started = performance.now();
  await assert.rejects(p.apply(control.busy, [flag, 2000], { timeout: 50 }), (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.match(e.message, /^Task 'busy' timed out after 50 ms \(its 'timeout' option\)$/);
    return true;
  });
  // The rejection does not wait for the task's 2 s.
  assert.ok(performance.now() - started < 1500, `rejected after ${performance.now() - started} ms`);
  // 2 s is within the grace (30 s): the worker finished and was kept.
  assert.equal(await p.apply(control.pid), worker);
  assert.equal(Atomics.load(cells, CELL.FINISHED), 1);
});

Deno.test("timeout aborts an async task's taskSignal() with a TimeoutError", async () => {
  await using p = pool();
  const reasons = new Queue<unknown>();
  const { cells, flag } = newCells();
  await assert.rejects(
    p.applyAsync(control.untilAborted, [flag, reasons], { timeout: 30 }).get(),
    TimeoutError,
  );
  await cellReaches(cells, CELL.ABORTED, 1);
  assert.deepEqual(await reasons.get(), {
    name: "TimeoutError",
    message: "Task 'untilAborted' timed out after 30 ms (its 'timeout' option)",
    isDOMException: false,
  });
  // A large timeout works and leaves no timer behind (the sanitizer checks).
  assert.equal(
    await p.apply(control.counted, [new SharedArrayBuffer(16), 1], { timeout: 2 ** 31 }),
    1,
  );
  assert.equal(
    await p.apply(control.counted, [new SharedArrayBuffer(16), 2], { timeout: Infinity }),
    2,
  );
  assert.equal(
    await p.apply(control.counted, [new SharedArrayBuffer(16), 3], { timeout: null }),
    3,
  );
});

Deno.test("A task that ignores its signal has its worker replaced after cancelGraceMs; the worker's other task is re-queued", async () => {
  await using p = pool({ concurrency: 2, cancelGraceMs: 100 });
  const { cells, flag } = newCells();
  const worker = await p.apply(control.pid);
  const controller = new AbortController();
  const ignoring = p.apply(control.holdIgnoring, [flag, 1], { signal: controller.signal });
  const other = p.apply(control.holdIgnoring, [flag, 2]); // the same worker (concurrency 2)
  await cellReaches(cells, CELL.STARTED, 2);
  controller.abort();
  await assert.rejects(ignoring, { name: "AbortError" });
  // The other task starts again on the replacement worker...
  await cellReaches(cells, CELL.STARTED, 3);
  assert.ok(await pending(other), "the other task was not failed");
  release(cells);
  assert.equal(await other, 2);
  // ... which has a new pid.
  assert.notEqual(await p.apply(control.pid), worker);
  const stats = p.stats();
  assert.equal(stats.cancelled, 1);
  assert.equal(stats.requeued, 1);
  assert.equal(stats.failed, 0);
});

Deno.test("cancelGraceMs Infinity never replaces the worker of a cancelled task", async () => {
  await using p = pool({ cancelGraceMs: Infinity });
  const { cells, flag } = newCells();
  const worker = await p.apply(control.pid);
  await assert.rejects(p.apply(control.holdIgnoring, [flag, 1], { timeout: 20 }), TimeoutError);
  // The worker still runs the task; a task queued behind it waits for it.
  const next = p.apply(control.pid);
  assert.ok(await pending(next));
  release(cells);
  assert.equal(await next, worker);
});

Deno.test("The node backend replaces a worker whose cancelled task is stuck in a loop", async () => {
  await using p = pool({ backend: "node", cancelGraceMs: 50 });
  const { cells, flag } = newCells();
  const worker = await p.apply(control.pid);
  const controller = new AbortController();
  const stuck = p.apply(control.spinUntilReleased, [flag], { signal: controller.signal });
  await cellReaches(cells, CELL.STARTED, 1);
  controller.abort();
  await assert.rejects(stuck, { name: "AbortError" });
  const replacement = await p.apply(control.pid);
  assert.notEqual(replacement, worker);
  // Deno 2.9.6 cannot interrupt the loop itself (the old thread runs on): let it end.
  release(cells);
});

Deno.test("A signal cancels a whole map: every chunk not done, at once", async () => {
  await using p = pool();
  const { cells, flag } = newCells();
  const holder = p.apply(control.holdIgnoring, [flag, 0]);
  await cellReaches(cells, CELL.STARTED, 1);
  const controller = new AbortController();
  const items = Array.from({ length: 10 }, () => flag);
  const mapped = p.map(control.counted, items, { signal: controller.signal, chunksize: 2 });
  const mappedAsync = p.mapAsync(control.counted, items, { signal: controller.signal });
  const starred = p.starmap(control.counted, items.map((f) => [f, 1]), {
    signal: controller.signal,
  });
  await Promise.resolve();
  controller.abort();
  await assert.rejects(mapped, { name: "AbortError" });
  await assert.rejects(mappedAsync.get(), { name: "AbortError" });
  await assert.rejects(starred, { name: "AbortError" });
  assert.equal(p.stats().queued, 0);
  release(cells);
  await holder;
  assert.equal(Atomics.load(cells, CELL.STARTED), 1, "no chunk ran");
  assert.equal(p.stats().cancelled, 5 + 4 + 4); // chunks: 10 items by 2, by 3 (the default), by 3
});

Deno.test("A map's timeout covers the whole call and cancels the chunks left", async () => {
  await using p = pool({ processes: 2 });
  const { cells, flag } = newCells();
  await assert.rejects(
    p.map(control.holdIgnoring, Array(6).fill(flag), { timeout: 50, chunksize: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.message, "map 'holdIgnoring' timed out after 50 ms (its 'timeout' option)");
      return true;
    },
  );
  release(cells);
  assert.ok(Atomics.load(cells, CELL.STARTED) <= 2, "the queued chunks never ran");
  assert.equal(p.stats().cancelled, 6);
});

Deno.test("imap and imapUnordered stop at the signal: the iteration throws, the input is read no further", async () => {
  await using p = pool();
  const { flag } = newCells();
  for (const method of ["imap", "imapUnordered"] as const) {
    const controller = new AbortController();
    let produced = 0;
    const input = function* () {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield flag;
      }
    };
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const r of p[method](control.counted, input(), { signal: controller.signal })) {
        seen.push(r as number);
        if (seen.length === 3) controller.abort();
      }
    }, { name: "AbortError" });
    assert.equal(seen.length, 3, method);
    assert.ok(produced < 20, `${method} read ${produced} inputs`);
  }
  // Aborted within a chunk of 4: its other results are not handed out.
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(async () => {
    const input = Array(100).fill(flag);
    for await (
      const r of p.imap(control.counted, input, { signal: controller.signal, chunksize: 4 })
    ) {
      seen.push(r as number);
      if (seen.length === 2) controller.abort();
    }
  }, { name: "AbortError" });
  assert.equal(seen.length, 2);
});

Deno.test("imap's timeout also ends a wait for a slow async input", async () => {
  await using p = pool();
  async function* input() {
    yield 1;
    await new Promise(() => {}); // never yields again
  }
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const r of p.imap(tasks.square, input(), { timeout: 100 })) seen.push(r);
  }, TimeoutError);
  // The item read before the input stalled has its result yielded meanwhile.
  assert.deepEqual(seen, [1]);
});

Deno.test("taskSignal() is each task's own across awaits when a worker runs several at once", async () => {
  await using p = pool({ concurrency: 4 });
  const own = await Promise.all(
    Array.from({ length: 8 }, (_, i) => p.apply(control.ownSignal, [5 + i])),
  );
  assert.ok(own.every((r) => r.same && !r.aborted), JSON.stringify(own));
  // Aborting one of four running tasks aborts only its signal.
  const controller = new AbortController();
  const others = [0, 1, 2].map(() => p.apply(control.abortedWithin, [300]));
  const cancelled = p.apply(control.abortedWithin, [30_000], { signal: controller.signal });
  controller.abort();
  await assert.rejects(cancelled, { name: "AbortError" });
  assert.deepEqual(await Promise.all(others), [false, false, false]);
});

Deno.test("taskSignal() outside a task throws, on the main thread and in a worker after its task settled", async () => {
  assert.throws(() => taskSignal(), {
    message:
      /^Cannot get the task's signal: taskSignal\(\) must be called inside a Pool task, while it runs in a worker \(this call came from the main thread\)$/,
  });
  for (const concurrency of [1, 3]) {
    await using p = pool({ concurrency });
    const out = new Queue<string>();
    assert.equal(await p.apply(control.signalLater, [out]), "done");
    assert.match(
      await out.get(),
      /must be called inside a Pool task, while it runs \(this call came after its task settled/,
    );
  }
});

Deno.test("Per-task options are validated with clear errors", async () => {
  await using p = pool();
  await assert.rejects(p.apply(tasks.square, [1], { signal: "stop" as never }), {
    name: "TypeError",
    message: `Cannot call apply(): 'signal' must be an AbortSignal, received "stop"`,
  });
  assert.throws(() => p.applyAsync(tasks.square, [1], { timeout: -1 }), {
    name: "RangeError",
    message:
      "Cannot call applyAsync(): 'timeout' must be a non-negative number of ms or Infinity, received -1",
  });
  assert.throws(() => p.applyAsync(tasks.square, [1], { timeout: NaN }), RangeError);
  await assert.rejects(p.map(tasks.square, [1], { timeout: "5" as never }), TypeError);
  await assert.rejects(p.apply(tasks.square, [1], { timout: 5 } as never), {
    message: "Cannot call apply(): unknown option 'timout'; did you mean 'timeout'?",
  });
  await assert.rejects(p.apply(tasks.square, [1], { chunksize: 5 } as never), {
    message: /Cannot call apply\(\): unknown option 'chunksize'/,
  });
  assert.throws(() => p.imap(tasks.square, [1], { signal: {} as never }), /must be an AbortSignal/);
  // timeout 0 is a deadline that has passed by the time the timer runs.
  await assert.rejects(p.apply(tasks.slowSquare, [2], { timeout: 0 }), TimeoutError);
  assert.equal(await p.apply(tasks.square, [3], {}), 9);
});

Deno.test("cancelGraceMs is validated like a timeout", () => {
  assert.throws(() => pool({ cancelGraceMs: -1 }), {
    name: "RangeError",
    message:
      "Cannot create pool: 'cancelGraceMs' must be a non-negative number of ms or Infinity, received -1",
  });
  assert.throws(() => pool({ cancelGraceMs: "1" as never }), TypeError);
});

Deno.test("A worker that exits while it holds a cancelled task and another settles both", async () => {
  await using p = pool({ concurrency: 2 });
  const { cells, flag } = newCells();
  const controller = new AbortController();
  const cancelled = p.apply(control.holdIgnoring, [flag, 1], { signal: controller.signal });
  const exiting = p.apply(control.exitWhenReleased, [flag]);
  await cellReaches(cells, CELL.STARTED, 2);
  controller.abort();
  await assert.rejects(cancelled, { name: "AbortError" });
  release(cells);
  await assert.rejects(exiting, /exited with code 5; task 'exitWhenReleased' did not finish/);
  assert.equal(await p.apply(tasks.square, [4]), 16);
  const stats = p.stats();
  assert.equal(stats.cancelled, 1);
  assert.equal(stats.failed, 1);
});

Deno.test("terminate() settles queued and running tasks that have signals, and leaves no timer", async () => {
  const p = pool({ cancelGraceMs: 60_000 });
  const { cells, flag } = newCells();
  const controller = new AbortController();
  const running = p.apply(control.holdIgnoring, [flag, 1], { timeout: 60_000 });
  const cancelled = p.apply(control.holdIgnoring, [flag, 2], { signal: controller.signal });
  const outcomes = [assert.rejects(running, /terminated/), assert.rejects(cancelled, /terminated/)];
  await cellReaches(cells, CELL.STARTED, 1);
  await p.terminate();
  await Promise.all(outcomes);
  controller.abort(); // after the fact: nothing happens
  assert.equal(p.stats().failed, 2);
  assert.equal(p.stats().cancelled, 0);
  release(cells);
});

Deno.test("Web backend: a cancelled task stuck in a loop is left behind with a warning; the pool goes on", async () => {
  const script = new URL("./fixtures/web_cancel_stuck_script.ts", import.meta.url);
  // The stuck thread keeps the program alive for ever: read until the warning, then kill it.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script.href],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdoutText = new Response(child.stdout).text();
  let stderr = "";
  const decoder = new TextDecoder();
  const deadline = performance.now() + 60_000;
  for await (const chunk of child.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (stderr.includes("Warning:") && stderr.endsWith("\n")) break;
    if (performance.now() > deadline) break;
  }
  child.kill("SIGKILL");
  await child.status;
  const stdout = await stdoutText;
  assert.equal(stdout, "cancelled: AbortError\nnext task on the replacement: 2\njoined\n");
  assert.match(
    stderr,
    /Warning: pool worker PoolWorker-\d+ \(pid \d+\) did not stop within 1 s of its replacement \(its task was cancelled and did not stop within cancelGraceMs\): task 'spin' seems stuck in a synchronous loop.*backend: "node"/,
  );
});

Deno.test("A call whose arguments cannot be sent leaves no timeout timer behind", async () => {
  await using p = pool();
  const [end, other] = Pipe();
  end.close();
  other.close();
  // A closed Connection cannot be sent: the call fails at submit (the sanitizer checks timers).
  await assert.rejects(p.apply(tasks.identity, [end], { timeout: 60_000 }), /closed/);
  await assert.rejects(p.map(tasks.identity, [end], { timeout: 60_000 }), /closed/);
  assert.throws(() => p.applyAsync(tasks.identity, [end], { timeout: 60_000 }), /closed/);
});

Deno.test("a cancelled task sent ahead to a worker busy in a synchronous task never runs", async () => {
  await using p = pool({ cancelGraceMs: Infinity });
  const a = newCells();
  const b = newCells();
  const d = newCells();
  // Quick tasks first: the pool then sends tasks ahead to the worker.
  for (let i = 0; i < 300; i++) await p.apply(tasks.square, [i]);
  const controller = new AbortController();
  const spinning = p.apply(control.spinUntilReleased, [a.flag]);
  const cancelled = p.apply(control.counted, [b.flag, 1], { signal: controller.signal });
  const after = p.apply(control.counted, [d.flag, 2]);
  await cellReaches(a.cells, CELL.STARTED, 1);
  controller.abort();
  await assert.rejects(cancelled, { name: "AbortError" });
  Atomics.store(a.cells, CELL.RELEASE, 1); // the synchronous task ends; the worker reads its inbox
  assert.equal(await spinning, 1);
  assert.equal(await after, 2);
  assert.equal(Atomics.load(b.cells, CELL.STARTED), 0, "the cancelled task ran");
  assert.equal(Atomics.load(d.cells, CELL.STARTED), 1);
  assert.equal(p.stats().requeued, 0);
});

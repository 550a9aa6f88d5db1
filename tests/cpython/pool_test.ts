// CPython's _TestPool (Lib/test/_test_multiprocessing.py), ported. The class-level pool of 4
// (setUpClass/tearDownClass) is shared by the steps of one Deno test; each CPython test is a step.
//
// Left out:
// - test_release_task_refs: weakrefs and gc of task arguments and results (not observable here).
// - test_enter: `with pool:` on a pool that is no longer running raises ValueError at
//   __enter__; `await using` has no enter hook, so nothing can refuse there (submitting to a
//   closed pool throws: see test_context).
// - test_resource_warning: ResourceWarning from a running pool's __del__.
//
// Departures that run through the class: no kwargs (`apply(sqr, (), {'x': 3})`); errors of
// classes other than the built-in ones arrive as an Error with their `name` (ValueError,
// SayWhenError from the worker); Python's RuntimeError is a plain Error.
import assert from "node:assert/strict";
import { Pool, RemoteError, TimeoutError } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import {
  assertTiming,
  LONG_TIMEOUT,
  modules,
  SHORT_TIMEOUT,
  TIMEOUT1,
  TIMEOUT2,
  Timing,
} from "./_helpers.ts";

const { sqr, mul } = tasks;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

const squares = (n: number) => range(n).map((x) => x * x);

class SayWhenError extends Error {
  override name = "SayWhenError";
}

function* exceptionThrowingGenerator(total: number, when: number): Generator<number> {
  if (when === -1) throw new SayWhenError("Somebody said when");
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError("Somebody said when");
    yield i;
  }
}

/** Pool(n) with the fixture module. */
function newPool(processes: number): Pool {
  return new Pool({ processes, modules });
}

Deno.test("_TestPool", async (t) => {
  const pool = newPool(4); // setUpClass

  await t.step("test_apply", async () => {
    const papply = pool.apply.bind(pool);
    assert.equal(await papply(sqr, [5]), await sqr(5));
    // papply(sqr, (), {'x': 3}): no kwargs here; the positional call instead.
    assert.equal(await papply(sqr, [3]), await sqr(3));
  });

  await t.step("test_map", async () => {
    assert.deepEqual(await pool.map(sqr, range(10)), squares(10));
    assert.deepEqual(await pool.map(sqr, range(100), { chunksize: 20 }), squares(100));
  });

  await t.step("test_starmap", async () => {
    let tuples = range(10).map((i) => [i, 9 - i] as [number, number]);
    assert.deepEqual(await pool.starmap(mul, tuples), tuples.map(([x, y]) => x * y));
    tuples = range(100).map((i) => [i, 99 - i]);
    assert.deepEqual(
      await pool.starmap(mul, tuples, { chunksize: 20 }),
      tuples.map(([x, y]) => x * y),
    );
  });

  await t.step("test_starmap_async", async () => {
    const tuples = range(100).map((i) => [i, 99 - i] as [number, number]);
    assert.deepEqual(
      await pool.starmap_async(mul, tuples).get(),
      tuples.map(([x, y]) => x * y),
    );
  });

  await t.step("test_map_async", async () => {
    assert.deepEqual(await pool.map_async(sqr, range(10)).get(), squares(10));
  });

  await t.step("test_map_async_callbacks", async () => {
    const callArgs: unknown[] = [];
    const append = (value: unknown) => callArgs.push(value);
    await pool.map_async(tasks.int, ["1"], { callback: append, errorCallback: append }).wait();
    assert.equal(1, callArgs.length);
    assert.deepEqual([1], callArgs[0]);
    await pool.map_async(tasks.int, ["a"], { callback: append, errorCallback: append }).wait();
    assert.equal(2, callArgs.length);
    // Python: isinstance(call_args[1], ValueError); a class of the task's module arrives as an
    // Error with its name.
    assert.ok(callArgs[1] instanceof Error);
    assert.equal(callArgs[1].name, "ValueError");
  });

  await t.step("test_map_unplicklable", async () => {
    // Issue #19425 -- failure to pickle should not cause a hang. A function cannot be cloned;
    // Python's __reduce__ raises RuntimeError, here the task is refused with a TypeError.
    const A = () => {};
    await assert.rejects(pool.map(sqr, new Array(10).fill(A)), TypeError);
  });

  await t.step("test_map_chunksize", async () => {
    try {
      await pool.map_async(sqr, [], { chunksize: 1 }).get(TIMEOUT1);
    } catch (error) {
      if (error instanceof TimeoutError) {
        assert.fail("pool.map_async with chunksize stalled on null list");
      }
      throw error;
    }
  });

  await t.step("test_map_handle_iterable_exception", async () => {
    // SayWhenError seen at the very first of the iterable
    await assert.rejects(
      pool.map(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 }),
      SayWhenError,
    );
    // again, make sure it's reentrant
    await assert.rejects(
      pool.map(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 }),
      SayWhenError,
    );

    await assert.rejects(
      pool.map(sqr, exceptionThrowingGenerator(10, 3), { chunksize: 1 }),
      SayWhenError,
    );

    class SpecialIterable implements Iterable<number>, Iterator<number> {
      [Symbol.iterator]() {
        return this;
      }
      next(): IteratorResult<number> {
        throw new SayWhenError();
      }
      get length() {
        return 1;
      }
    }
    await assert.rejects(pool.map(sqr, new SpecialIterable(), { chunksize: 1 }), SayWhenError);
    await assert.rejects(pool.map(sqr, new SpecialIterable(), { chunksize: 1 }), SayWhenError);
  });

  await t.step("test_async", async () => {
    const res = pool.apply_async(sqr, [7, TIMEOUT1]);
    const get = new Timing();
    assert.equal(await get.run(() => res.get()), 49);
    assertTiming(get.elapsed, TIMEOUT1);
  });

  await t.step("test_async_timeout", async () => {
    const p = newPool(3);
    try {
      const res = p.apply_async(sqr, [6, TIMEOUT2 + SHORT_TIMEOUT]);
      const get = new Timing();
      await assert.rejects(get.run(() => res.get(TIMEOUT2)), TimeoutError);
      assertTiming(get.elapsed, TIMEOUT2);
    } finally {
      await p.terminate();
      await p.join();
    }
  });

  await t.step("test_imap", async () => {
    let it = pool.imap(sqr, range(10));
    assert.deepEqual(await Array.fromAsync(it), squares(10));

    it = pool.imap(sqr, range(10));
    for (let i = 0; i < 10; i++) assert.equal((await it.next()).value, i * i);
    assert.equal((await it.next()).done, true); // StopIteration

    it = pool.imap(sqr, range(1000), { chunksize: 100 });
    for (let i = 0; i < 1000; i++) assert.equal((await it.next()).value, i * i);
    assert.equal((await it.next()).done, true);
  });

  await t.step("test_imap_handle_iterable_exception", async () => {
    // SayWhenError seen at the very first of the iterable
    let it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 });
    await assert.rejects(it.next(), SayWhenError);
    // again, make sure it's reentrant
    it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 });
    await assert.rejects(it.next(), SayWhenError);

    it = pool.imap(sqr, exceptionThrowingGenerator(10, 3), { chunksize: 1 });
    for (let i = 0; i < 3; i++) assert.equal((await it.next()).value, i * i);
    await assert.rejects(it.next(), SayWhenError);
  });

  await t.step({
    name: "test_imap_handle_iterable_exception: the chunk in which the input threw",
    async fn() {
      // SayWhenError seen at start of problematic chunk's results
      let it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), { chunksize: 2 });
      for (let i = 0; i < 6; i++) assert.equal((await it.next()).value, i * i);
      await assert.rejects(it.next(), SayWhenError);
      it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), { chunksize: 4 });
      for (let i = 0; i < 4; i++) assert.equal((await it.next()).value, i * i);
      await assert.rejects(it.next(), SayWhenError);
    },
  });

  await t.step("test_imap_unordered", async () => {
    let it = pool.imap_unordered(sqr, range(10));
    assert.deepEqual((await Array.fromAsync(it)).sort((a, b) => a - b), squares(10));

    it = pool.imap_unordered(sqr, range(1000), { chunksize: 100 });
    assert.deepEqual((await Array.fromAsync(it)).sort((a, b) => a - b), squares(1000));
  });

  await t.step("test_imap_unordered_handle_iterable_exception", async () => {
    // SayWhenError seen at the very first of the iterable
    let it = pool.imap_unordered(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 });
    await assert.rejects(it.next(), SayWhenError);
    // again, make sure it's reentrant
    it = pool.imap_unordered(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 });
    await assert.rejects(it.next(), SayWhenError);

    const drain = async (it: AsyncIterator<number>, expectedValues: number[]) => {
      // imap_unordered makes it difficult to anticipate the SayWhenError
      for (let i = 0; i < expectedValues.length; i++) {
        const value = (await it.next()).value;
        assert.ok(expectedValues.includes(value), `${value} was not expected`);
        expectedValues.splice(expectedValues.indexOf(value), 1);
      }
    };

    it = pool.imap_unordered(sqr, exceptionThrowingGenerator(10, 3), { chunksize: 1 });
    await assert.rejects(drain(it, squares(10)), SayWhenError);

    it = pool.imap_unordered(sqr, exceptionThrowingGenerator(20, 7), { chunksize: 2 });
    await assert.rejects(drain(it, squares(20)), SayWhenError);
  });

  await t.step("test_make_pool", async () => {
    // Python raises ValueError; a count that is not a positive integer is a RangeError here.
    assert.throws(() => newPool(-1), RangeError);
    assert.throws(() => newPool(0), RangeError);

    const p = newPool(3);
    try {
      assert.equal(3, p.processes); // len(p._pool)
    } finally {
      p.close();
      await p.join();
    }
  });

  await t.step("test_terminate", async () => {
    // Simulate slow tasks which take "forever" to complete
    const sleepTime = LONG_TIMEOUT;

    const p = newPool(3);
    const args = new Array(10_000).fill(sleepTime);
    const result = p.map_async(tasks.sleepMs, args, { chunksize: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // give some tasks a chance to start
    await p.terminate();
    await p.join();
    // Python's result.get() would hang here; terminate() rejects what did not finish.
    await assert.rejects(result.get(), /terminated/);
  });

  await t.step("test_empty_iterable", async () => {
    // See Issue 12157
    const p = newPool(1);

    assert.deepEqual(await p.map(sqr, []), []);
    assert.deepEqual(await Array.fromAsync(p.imap(sqr, [])), []);
    assert.deepEqual(await Array.fromAsync(p.imap_unordered(sqr, [])), []);
    assert.deepEqual(await p.map_async(sqr, []).get(), []);

    p.close();
    await p.join();
  });

  await t.step("test_context", async () => {
    // Departure: leaving `await using` closes and joins the pool; Python's __exit__ terminates
    // it. Either way the pool takes no more tasks (Python raises ValueError; here an Error).
    const L = range(10);
    const expected = L.map((i) => i * i);
    let p: Pool;
    {
      await using pool = newPool(2);
      p = pool;
      const r = p.map_async(sqr, L);
      assert.deepEqual(await r.get(), expected);
    }
    await p.join();
    assert.throws(() => p.map_async(sqr, L), /closed/);
  });

  await t.step("test_traceback", async () => {
    // We want ensure that the traceback from the child process is
    // contained in the traceback raised in the main process.
    let exc: unknown;
    {
      await using p = newPool(1);
      try {
        await p.apply(tasks.testTraceback);
        assert.fail("expected RuntimeError");
      } catch (e) {
        exc = e;
      }
    }
    assert.ok(exc instanceof Error);
    assert.equal(exc.constructor, Error); // type(exc) is RuntimeError
    assert.equal(exc.message, "123"); // exc.args == (123,)
    const cause = exc.cause;
    assert.ok(cause instanceof RemoteError); // RemoteTraceback
    // Departure: Python's traceback quotes the source line ('raise RuntimeError(123) # some
    // comment'); a JavaScript stack names the function and its place in the file.
    assert.match(cause.message, /at testTraceback \(.*_tasks\.ts:\d+:\d+\)/);

    // (CPython then prints exc through sys.excepthook and looks for the line: left out.)

    // _helper_reraises_exception should not make the error a remote exception
    {
      await using p = newPool(1);
      try {
        await p.map(sqr, exceptionThrowingGenerator(1, -1), { chunksize: 1 });
        assert.fail("expected SayWhenError");
      } catch (e) {
        exc = e;
      }
      assert.ok(exc instanceof SayWhenError);
      assert.equal(exc.cause, undefined);
    }
  });

  await t.step("test_wrapped_exception", async () => {
    // Issue #20980: Should not wrap exception when using thread pool
    await using p = newPool(1);
    await assert.rejects(
      p.apply(tasks.testWrappedException),
      (e: Error) => e.constructor === Error && e.message === "foo",
    );
  });

  await t.step("test_map_no_failfast", async () => {
    // Issue #23992: the fail-fast behaviour when an exception is raised
    // during map() would make Pool.join() deadlock.
    const tStart = performance.now();

    const p = newPool(2);
    try {
      await assert.rejects(
        p.map(tasks.raiseLargeValueError, [0, 1000]),
        (e: Error) => e.name === "ValueError",
      );
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 500));
      p.close();
      await p.join();
    }

    // check that we indeed waited for all jobs
    assert.ok(performance.now() - tStart > 900);
  });

  // tearDownClass
  await pool.terminate();
  await pool.join();
});

// CPython's _TestPoolWorkerErrors (Lib/test/_test_multiprocessing.py), ported: every test of
// the class.
import assert from "node:assert/strict";
import { Pool, RemoteError } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

Deno.test("_TestPoolWorkerErrors.test_async_error_callback", async () => {
  const p = new Pool({ processes: 2, modules });

  const scratchpad: unknown[] = [null];
  const errback = (exc: unknown) => scratchpad[0] = exc;

  const res = p.apply_async(tasks.raising, [], { errorCallback: errback });
  // Python: KeyError; a class of the task's module arrives as an Error with its name.
  await assert.rejects(res.get(), (e: Error) => e.name === "KeyError" && e.message === "key");
  assert.ok(scratchpad[0]);
  assert.ok(scratchpad[0] instanceof Error);
  assert.equal(scratchpad[0].name, "KeyError");

  p.close();
  await p.join();
});

Deno.test("_TestPoolWorkerErrors.test_unpickleable_result", async () => {
  // Departure: Python wraps a result that cannot be pickled in a MaybeEncodingError (with .exc
  // and .value); here the task fails with a TypeError that names the task and the value, with
  // the worker's stack as its cause.
  const p = new Pool({ processes: 2, modules });

  // Make sure we don't lose pool processes because of encoding errors.
  for (let iteration = 0; iteration < 20; iteration++) {
    const scratchpad: unknown[] = [null];
    const errback = (exc: unknown) => scratchpad[0] = exc;

    const res = p.apply_async(tasks.unpickleableResult, [], { errorCallback: errback });
    await assert.rejects(res.get(), TypeError);
    const wrapped = scratchpad[0];
    assert.ok(wrapped);
    assert.ok(wrapped instanceof TypeError);
    assert.match(wrapped.message, /result of task 'unpickleableResult'/); // .exc
    assert.match(wrapped.message, /42/); // .value
    assert.ok(wrapped.cause instanceof RemoteError);
  }

  p.close();
  await p.join();
});

import assert from "node:assert/strict";
import { AsyncResult, TimeoutError } from "../mod.ts";

Deno.test("AsyncResult settles once and reports ready() and successful()", async () => {
  let settle!: (ok: boolean, value: unknown) => void;
  const result = new AsyncResult<number>((s) => (settle = s));
  assert.equal(result.ready(), false);
  assert.throws(() => result.successful(), /has not finished/);
  settle(true, 1);
  settle(false, new Error("ignored"));
  assert.ok(result.ready() && result.successful());
  assert.equal(await result, 1);
  assert.equal(await result.get(10), 1);
});

Deno.test("AsyncResult.get(timeout) rejects with TimeoutError; wait() does not throw", async () => {
  let settle!: (ok: boolean, value: unknown) => void;
  const result = new AsyncResult<string>((s) => (settle = s));
  await assert.rejects(result.get(20), TimeoutError);
  await result.wait(5);
  settle(false, new RangeError("late"));
  await result.wait();
  assert.equal(result.successful(), false);
  await assert.rejects(result.get(), RangeError);
});

Deno.test("AsyncResult with an error nobody reads is not an unhandled rejection", async () => {
  const result = new AsyncResult<never>((settle) => settle(false, new Error("unread")));
  // The test's sanitizers and Deno's unhandled-rejection check would fail here otherwise.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(result.ready(), true);
});

import assert from "node:assert/strict";
import { describeThrown, fromWireError, toWireError } from "../lib/_remote_error.ts";
import { RemoteError } from "../mod.ts";

Deno.test("fromWireError() rebuilds built-in classes with the remote stack as cause", () => {
  const original = new SyntaxError("bad token");
  const rebuilt = fromWireError(JSON.parse(JSON.stringify(toWireError(original)))) as Error;
  assert.ok(rebuilt instanceof SyntaxError);
  assert.equal(rebuilt.message, "bad token");
  assert.ok(rebuilt.cause instanceof RemoteError);
  assert.equal((rebuilt.cause as RemoteError).stack, original.stack);
});

Deno.test("fromWireError() keeps the name and primitive properties of other classes", () => {
  class HttpError extends Error {
    status = 503;
    override name = "HttpError";
  }
  const rebuilt = fromWireError(toWireError(new HttpError("down"))) as Error & { status: number };
  assert.equal(rebuilt.name, "HttpError");
  assert.equal(rebuilt.status, 503);
  assert.equal(String(rebuilt), "HttpError: down");
});

Deno.test("toWireError() carries thrown non-errors as the values themselves", () => {
  assert.equal(fromWireError(toWireError(42)), 42);
  assert.equal(fromWireError(toWireError(null)), null);
  assert.deepEqual(fromWireError(toWireError({ x: 1 })), { x: 1 });
  assert.equal(fromWireError(toWireError(undefined)), undefined);
  const date = new Date(5);
  assert.equal(fromWireError(structuredClone(toWireError(date))) instanceof Date, true);
});

Deno.test("toWireError() never throws, whatever was thrown", () => {
  const trap = new Error("hidden");
  Object.defineProperty(trap, "message", {
    get() {
      throw new Error("no message");
    },
  });
  const wire = toWireError(trap);
  assert.equal(wire.name, "TypeError");
  assert.match(wire.message!, /an object \(Error\), and reading it threw \(Error: no message\)/);
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  assert.match(
    toWireError(revoked.proxy).message!,
    /a value that cannot be described, and reading/,
  );
  const described = describeThrown(Object.create(null), new Error("x"), "task 'f'");
  assert.match(
    described.message!,
    /^Cannot send what task 'f' threw to the main thread: an object/,
  );
});

Deno.test("fromWireError() keeps the error's own cause chain, AggregateError and DOMException", () => {
  const root = new Error("connection refused", { cause: { code: "ECONNREFUSED" } });
  const original = new TypeError("fetch failed", { cause: root });
  const rebuilt = fromWireError(JSON.parse(JSON.stringify(toWireError(original)))) as Error;
  assert.ok(rebuilt instanceof TypeError);
  const remote = rebuilt.cause as RemoteError;
  assert.ok(remote instanceof RemoteError);
  const ownCause = remote.cause as Error;
  assert.equal(ownCause.message, "connection refused");
  assert.deepEqual((ownCause.cause as RemoteError).cause, { code: "ECONNREFUSED" });

  const aggregate = fromWireError(
    toWireError(new AggregateError([new RangeError("a"), "b"], "both")),
  ) as AggregateError;
  assert.ok(aggregate instanceof AggregateError);
  assert.equal(aggregate.message, "both");
  assert.ok(aggregate.errors[0] instanceof RangeError);
  assert.equal(aggregate.errors[1], "b");

  const abort = fromWireError(toWireError(new DOMException("stopped", "AbortError")));
  assert.ok(abort instanceof DOMException);
  assert.equal((abort as DOMException).name, "AbortError");

  // A cycle of causes ends; a cause that cannot be cloned is described, not lost.
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as Error & { cause: unknown }).cause = b;
  const cyclic = toWireError(a);
  assert.ok(JSON.stringify(cyclic).length < 10_000);
  const odd = fromWireError(toWireError(new Error("x", { cause: () => 1 }))) as Error;
  assert.match(String((odd.cause as RemoteError).cause), /function/);
});

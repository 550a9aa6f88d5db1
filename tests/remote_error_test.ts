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

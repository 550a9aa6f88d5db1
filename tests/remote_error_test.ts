import assert from "node:assert/strict";
import { fromWireError, toWireError } from "../lib/_remote_error.ts";
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

Deno.test("toWireError() carries thrown non-errors as values", () => {
  assert.equal(fromWireError(toWireError(42)), 42);
  assert.equal(fromWireError(toWireError(null)), null);
  assert.equal(fromWireError(toWireError({ x: 1 })), "[object Object]");
});

import assert from "node:assert/strict";
import { functionRef, resolveFunction } from "../lib/_function_ref.ts";

export function exported(x: number): number {
  return x;
}

Deno.test("functionRef() gives one stable reference per function declaration", () => {
  const a = functionRef(exported, "task");
  assert.equal(a, functionRef(exported, "task"));
  assert.equal(a.name, "exported");
  async function other() {}
  assert.notEqual(functionRef(other, "task").id, a.id);
});

Deno.test("functionRef() refuses what cannot travel by reference, saying how to fix it", () => {
  const arrow = (x: number) => x;
  assert.throws(() => functionRef(arrow, "task"), /'arrow' is an arrow function.*export function/);
  assert.throws(() => functionRef(exported.bind(null), "task"), /bound or native function/);
  assert.throws(() => functionRef(Math.max, "task"), /bound or native function/);
  assert.throws(() => functionRef(class A {}, "task"), /arrow function, method or class/);
  assert.throws(() => functionRef("exported", "task"), /received the string "exported"/);
});

Deno.test("resolveFunction() finds an export by source, under any name", () => {
  const ns = [{ url: "file:///m.ts", exports: { renamed: exported } }];
  assert.equal(resolveFunction("exported", exported.toString(), ns), exported);
  assert.throws(
    () => resolveFunction("missing", "function missing() {}", ns),
    /function 'missing' is not exported from file:\/\/\/m\.ts/,
  );
});

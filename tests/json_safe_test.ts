import assert from "node:assert/strict";
import { isJsonSafe } from "../lib/_json_safe.ts";

Deno.test("isJsonSafe() accepts what JSON round-trips exactly", () => {
  for (const v of [0, 1.5, "s", true, null, [], {}, [1, [2, { a: "b" }]], { x: { y: [null] } }]) {
    assert.ok(isJsonSafe(v), JSON.stringify(v));
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v);
  }
});

Deno.test("isJsonSafe() refuses what JSON would change", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const deep: unknown[] = [];
  let cur = deep;
  for (let i = 0; i < 100; i++) cur.push(cur = []);
  for (
    const v of [
      undefined,
      NaN,
      Infinity,
      -0,
      1n,
      new Date(),
      new Map(),
      new Uint8Array(1),
      [1, , 3],
      { a: undefined },
      { toJSON: () => 1 },
      Object.create({ inherited: 1 }),
      new (class Point {})(),
      () => 1,
      Symbol("s"),
      cyclic,
      deep,
    ]
  ) {
    assert.equal(isJsonSafe(v), false, String(v));
  }
});

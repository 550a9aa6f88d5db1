import assert from "node:assert/strict";
import { RawArray, RawValue, SharedArray, Value } from "../mod.ts";

Deno.test("Value holds every typecode, bigints for 64-bit ones, and refuses others", () => {
  for (
    const [code, v] of [["b", -5], ["B", 250], ["h", -300], ["H", 60_000], ["i", -7], ["I", 4e9], [
      "f",
      1.5,
    ], ["d", Math.PI]] as const
  ) {
    assert.equal(new Value(code, v).value, v, code);
  }
  assert.equal(new Value("q", 2n ** 62n).value, 2n ** 62n);
  assert.equal(new Value("L", 5n).value, 5n);
  assert.throws(
    () => new Value("x" as never),
    /typecode must be one of b B h H i I l L q Q f d, received "x"/,
  );
  assert.throws(() => new RawValue("i").getLock(), /without one/);
  assert.ok(new Value("i").get_lock());
});

Deno.test("SharedArray is indexable and iterable, zero-filled or from values", () => {
  const zeros = new SharedArray("i", 4);
  assert.deepEqual(Array.from(zeros), [0, 0, 0, 0]);
  const arr = new SharedArray("d", [1, 2.5, 3]);
  arr[1] = 9;
  assert.equal(arr.length, 3);
  assert.equal(arr[1], 9);
  assert.deepEqual([...arr], [1, 9, 3]);
  assert.throws(() => (arr[5] = 1), RangeError);
  assert.throws(() => new SharedArray("i", -1), TypeError);
  assert.throws(() => new RawArray("i", 2).getLock(), /without one/);
  assert.deepEqual(Array.from(new SharedArray("q", [1n, -2n])), [1n, -2n]);
});

Deno.test("Value and SharedArray take lock: true, false, a Lock or an RLock, and refuse anything else", async () => {
  const { Lock, RLock } = await import("../mod.ts");
  const lock = new Lock();
  const rlock = new RLock();
  assert.equal(new Value("i", 0, { lock }).getLock(), lock);
  assert.equal(new SharedArray("i", 2, { lock: rlock }).getLock(), rlock);
  assert.ok(new Value("i", 0, { lock: true }).getLock() instanceof RLock);
  assert.throws(() => new Value("i", 0, { lock: false }).getLock(), /without one/);
  for (const bad of ["x", 1, null, {}, { acquire() {} }]) {
    assert.throws(() => new Value("i", 0, { lock: bad as never }), {
      name: "TypeError",
      message: /^Cannot create value: 'lock' must be true, false, a Lock or an RLock, received /,
    });
    assert.throws(
      () => new SharedArray("d", 3, { lock: bad as never }),
      /Cannot create array: 'lock'/,
    );
  }
  assert.throws(() => new Value("i", 0, { lokc: true } as never), {
    name: "TypeError",
    message: "Cannot create value: unknown option 'lokc'; did you mean 'lock'?",
  });
});

Deno.test("Value refuses values that do not fit its typecode, and options that are not an object", () => {
  assert.throws(
    () => new Value("d", "x" as never),
    /Cannot store "x" as a 'd' item: it takes a number/,
  );
  const v = new Value("i", 1);
  assert.throws(() => (v.value = "2" as never), TypeError);
  assert.equal(v.value, 1);
  const big = new Value("q", 1n);
  big.value = 5 as never; // a safe integer number is taken, as a bigint
  assert.equal(big.value, 5n);
  assert.throws(() => (big.value = 1.5 as never), TypeError);
  assert.throws(() => new Value("i", 0, [] as never), /'options' must be an object/);
  const arr = new SharedArray("d", 2);
  assert.throws(() => (arr[0] = "x" as never), TypeError);
  assert.throws(() => new SharedArray("i", ["a", 2] as never), TypeError);
  assert.equal(arr[0], 0);
});

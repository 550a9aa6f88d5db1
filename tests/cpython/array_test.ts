// CPython's _TestArray (Lib/test/_test_multiprocessing.py), ported: every test of the class.
//
// Changed:
// - There are no slices: `arr[2:7]` reads `Array.from(arr).slice(2, 7)`, and a slice assignment
//   writes item by item.
// - The child of test_array is a daemon in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { Lock, Process, RawArray, SharedArray, type Typecode } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

async function testArray(raw: boolean): Promise<void> {
  const seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
  const arr = raw ? new RawArray("i", seq) : new SharedArray("i", seq);

  assert.equal(arr.length, seq.length);
  assert.equal(arr[3], seq[3]);
  assert.deepEqual(Array.from(arr).slice(2, 7), seq.slice(2, 7));

  // arr[4:8] = seq[4:8] = array.array('i', [1, 2, 3, 4])
  [1, 2, 3, 4].forEach((v, i) => arr[4 + i] = seq[4 + i] = v);

  assert.deepEqual(Array.from(arr), seq);

  tasks.cumulate(seq);

  const p = new Process({ target: tasks.cumulate, args: [arr], modules });
  p.start();
  await p.join();
  assert.equal(p.exitcode, 0);

  assert.deepEqual(Array.from(arr), seq);
}

Deno.test("_TestArray.test_array", () => testArray(false));

Deno.test("_TestArray.test_array_from_size", () => {
  const size = 10;
  // Test for zeroing (see issue #11675).
  for (let n = 0; n < 3; n++) {
    const arr = new SharedArray("i", size);
    assert.equal(arr.length, size);
    assert.deepEqual(Array.from(arr), new Array(size).fill(0));
    range(10).forEach((v, i) => arr[i] = v); // arr[:] = range(10)
    assert.deepEqual(Array.from(arr), range(10));
  }
});

Deno.test("_TestArray.test_rawarray", () => testArray(true));

Deno.test("_TestArray.test_getobj_getlock_obj", () => {
  // Departure: there is no get_obj(): a SharedArray is its own shared object.
  const arr1 = new SharedArray("i", range(10));
  assert.ok(arr1.get_lock());

  // Python's lock=None means "make one", as lock=True does; JavaScript's "no value" is undefined.
  const arr2 = new SharedArray("i", range(10), { lock: undefined });
  assert.ok(arr2.getLock());

  const lock = new Lock();
  const arr3 = new SharedArray("i", range(10), { lock });
  const lock3 = arr3.getLock();
  assert.equal(lock, lock3);

  // Departure: an array made with lock=False (or a RawArray) has get_lock() too, and it throws,
  // where Python's has no get_lock attribute.
  const arr4 = new SharedArray("i", range(10), { lock: false });
  assert.throws(() => arr4.getLock(), /made without one/);

  const arr5 = new RawArray("i", range(10));
  assert.throws(() => arr5.getLock(), /made without one/);
});

Deno.test({
  // Departure: Python raises AttributeError for a lock without acquire(); here a TypeError
  // refuses anything but true/false/Lock/RLock, null too (Python's None means "make one").
  name: "_TestArray.test_getobj_getlock_obj: lock='notalock'",
  fn() {
    assert.throws(() => new SharedArray("i", range(10), { lock: "notalock" as never }), TypeError);
    assert.throws(() => new SharedArray("i", range(10), { lock: null as never }), TypeError);
  },
});

Deno.test("_TestArray.test_invalid_typecode", () => {
  assert.throws(() => new SharedArray("x" as Typecode, []), /typecode/);
  assert.throws(() => new RawArray("x" as Typecode, []), /typecode/);
  assert.throws(() => new SharedArray("x" as Typecode, []), TypeError);
});

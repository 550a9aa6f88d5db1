// CPython's _TestValue (Lib/test/_test_multiprocessing.py), ported: every test of the class.
//
// Changed:
// - codes_values has ('c', b'x', b'y'); 'c' (a one-byte bytes) is not a typecode here (Python's
//   array module has none either), so 'B' holds the same byte. 'q' values are bigints.
// - The child of test_value is a daemon in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { Lock, Process, RawValue, type Typecode, Value } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

const { CODES_VALUES } = tasks;

async function testValue(raw: boolean): Promise<void> {
  const values = CODES_VALUES.map(([code, value]) =>
    raw
      ? new RawValue(code as Typecode, value as never)
      : new Value(code as Typecode, value as never)
  );

  values.forEach((sv, i) => assert.equal(sv.value, CODES_VALUES[i][1]));

  const proc = new Process({ target: tasks.setValues, args: [values], modules });
  proc.start();
  await proc.join();
  assert.equal(proc.exitcode, 0);

  values.forEach((sv, i) => assert.equal(sv.value, CODES_VALUES[i][2]));
}

Deno.test("_TestValue.test_value", () => testValue(false));

Deno.test("_TestValue.test_rawvalue", () => testValue(true));

Deno.test("_TestValue.test_getobj_getlock", () => {
  // Departure: there is no get_obj(): a Value is its own shared object.
  const val1 = new Value("i", 5);
  const lock1 = val1.get_lock();
  assert.ok(lock1);

  // Python's lock=None means "make one", as lock=True does; JavaScript's "no value" is undefined.
  const val2 = new Value("i", 5, { lock: undefined });
  const lock2 = val2.getLock();
  assert.ok(lock2);

  const lock = new Lock();
  const val3 = new Value("i", 5, { lock });
  const lock3 = val3.getLock();
  assert.equal(lock, lock3);

  // Departure: a Value made with lock=False (or a RawValue) has get_lock() too, and it throws,
  // where Python's has no get_lock attribute.
  const arr4 = new Value("i", 5, { lock: false });
  assert.throws(() => arr4.getLock(), /made without one/);

  const arr5 = new RawValue("i", 5);
  assert.throws(() => arr5.getLock(), /made without one/);
});

Deno.test({
  // Departure: Python raises AttributeError for a lock without acquire(); here a TypeError
  // refuses anything but true/false/Lock/RLock, null too (Python's None means "make one").
  name: "_TestValue.test_getobj_getlock: lock='navalue'",
  fn() {
    assert.throws(() => new Value("i", 5, { lock: "navalue" as never }), TypeError);
    assert.throws(() => new Value("i", 5, { lock: null as never }), TypeError);
  },
});

Deno.test("_TestValue.test_invalid_typecode", () => {
  assert.throws(() => new Value("x" as Typecode, undefined), TypeError);
  assert.throws(() => new RawValue("x" as Typecode, undefined), TypeError);
  assert.throws(() => new Value("x" as Typecode, undefined), /typecode/);
});

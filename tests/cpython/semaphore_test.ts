// CPython's _TestSemaphore (Lib/test/_test_multiprocessing.py), ported: every test of the class.
import assert from "node:assert/strict";
import { BoundedSemaphore, Semaphore } from "../../mod.ts";
import { assertTiming, TIMEOUT1, TIMEOUT2, TIMEOUT3, Timing } from "./_helpers.ts";

async function testSemaphore(sem: Semaphore): Promise<void> {
  assert.equal(sem.get_value(), 2);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 1);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 0);
  assert.equal(await sem.acquire({ block: false }), false);
  assert.equal(sem.getValue(), 0);
  assert.equal(sem.release(), undefined);
  assert.equal(sem.getValue(), 1);
  assert.equal(sem.release(), undefined);
  assert.equal(sem.getValue(), 2);
}

Deno.test("_TestSemaphore.test_semaphore", async () => {
  const sem = new Semaphore(2);
  await testSemaphore(sem);
  assert.equal(sem.release(), undefined);
  assert.equal(sem.getValue(), 3);
  assert.equal(sem.release(), undefined);
  assert.equal(sem.getValue(), 4);
});

Deno.test("_TestSemaphore.test_bounded_semaphore", async () => {
  const sem = new BoundedSemaphore(2);
  await testSemaphore(sem);
  // Currently fails on OS/X
  // if HAVE_GETVALUE:
  //     self.assertRaises(ValueError, sem.release)
  //     self.assertReturnsIfImplemented(2, get_value, sem)
});

Deno.test("_TestSemaphore.test_timeout", async () => {
  const sem = new Semaphore(0);
  const acquire = new Timing();

  assert.equal(await acquire.run(() => sem.acquire({ block: false })), false);
  assertTiming(acquire.elapsed, 0);

  assert.equal(await acquire.run(() => sem.acquire({ block: false, timeout: undefined })), false);
  assertTiming(acquire.elapsed, 0);

  assert.equal(await acquire.run(() => sem.acquire({ block: false, timeout: TIMEOUT1 })), false);
  assertTiming(acquire.elapsed, 0);

  assert.equal(await acquire.run(() => sem.acquire({ block: true, timeout: TIMEOUT2 })), false);
  assertTiming(acquire.elapsed, TIMEOUT2);

  assert.equal(await acquire.run(() => sem.acquire({ timeout: TIMEOUT3 })), false);
  assertTiming(acquire.elapsed, TIMEOUT3);
});

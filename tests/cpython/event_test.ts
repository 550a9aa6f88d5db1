// CPython's _TestEvent (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_repr: `repr(event)` ("<Event at ... unset>"); events here have no such repr.
//
// The child is a daemon in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { Event, Process } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { assertTiming, modules, TIMEOUT1, Timing } from "./_helpers.ts";

Deno.test("_TestEvent.test_event", async () => {
  const event = new Event();
  const wait = new Timing();

  // Removed temporarily, due to API shear, this does not
  // work with threading._Event objects. is_set == isSet
  assert.equal(event.is_set(), false);

  // Removed, threading.Event.wait() will return the value of the __flag
  // instead of None. API Shear with the semaphore backed mp.Event
  assert.equal(await wait.run(() => event.wait(0)), false);
  assertTiming(wait.elapsed, 0);
  assert.equal(await wait.run(() => event.wait(TIMEOUT1)), false);
  assertTiming(wait.elapsed, TIMEOUT1);

  event.set();

  // See note above on the API differences
  assert.equal(event.isSet(), true);
  assert.equal(await wait.run(() => event.wait()), true);
  assertTiming(wait.elapsed, 0);
  assert.equal(await wait.run(() => event.wait(TIMEOUT1)), true);
  assertTiming(wait.elapsed, 0);
  // self.assertEqual(event.is_set(), True)

  event.clear();

  // self.assertEqual(event.is_set(), False)

  const p = new Process({ target: tasks.testEvent, args: [event], modules });
  p.start();
  assert.equal(await wait.run(() => event.wait()), true);
  await p.join();
});

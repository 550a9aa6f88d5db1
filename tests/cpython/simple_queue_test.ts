// CPython's TestSimpleQueue (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_closed: it reads CPython's private `_reader` and `_writer` pipe ends.
//
// The child of test_empty is a daemon in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { Event, Process, SimpleQueue } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

Deno.test("TestSimpleQueue.test_empty_exceptions", async () => {
  // Departure: Python's close() closes the pipe, and empty() then raises OSError 'is closed'.
  // Here close() closes the queue for every thread (gets and puts fail), and empty() still
  // answers: a closed queue's emptiness is known.
  const q = new SimpleQueue();
  q.close(); // close the pipe
  assert.equal(q.empty(), true);
  await assert.rejects(q.get(), /is closed/);
});

Deno.test("TestSimpleQueue.test_empty", async () => {
  const queue = new SimpleQueue<boolean>();
  const childCanStart = new Event();
  const parentCanContinue = new Event();

  const proc = new Process({
    target: tasks.testEmpty,
    args: [queue, childCanStart, parentCanContinue],
    modules,
  });
  proc.start();

  assert.ok(queue.empty());

  childCanStart.set();
  await parentCanContinue.wait();

  assert.ok(!queue.empty());
  assert.equal(await queue.get(), true);
  assert.equal(await queue.get(), false);
  assert.ok(queue.empty());

  await proc.join();
  assert.equal(proc.exitcode, 0);
});

Deno.test("TestSimpleQueue.test_close", () => {
  const queue = new SimpleQueue();
  queue.close();
  // closing a queue twice should not fail
  queue.close();
});

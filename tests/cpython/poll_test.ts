// CPython's _TestPoll (Lib/test/_test_multiprocessing.py), ported: every test of the class.
//
// Changed: in test_boundaries CPython sleeps 2 s so that the child is inside r.poll(5) when the
// messages come; here the child sets an Event just before it polls and the parent waits for it.
import assert from "node:assert/strict";
import { Event, Pipe, Process } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { latin, modules } from "./_helpers.ts";

Deno.test("_TestPoll.test_empty_string", async () => {
  const [a, b] = Pipe();
  assert.equal(await a.poll(), false);
  b.send_bytes(latin(""));
  assert.equal(await a.poll(), true);
  assert.equal(await a.poll(), true);
  a.close();
  b.close();
});

Deno.test("_TestPoll.test_strings", async () => {
  const strings = ["hello", "", "a", "b", "", "bye", "", "lop"].map(latin);
  const [a, b] = Pipe();
  const p = new Process({ target: tasks.childStrings, args: [b, strings], modules });
  p.start();

  for (const s of strings) {
    for (let i = 0; i < 200; i++) {
      if (await a.poll(10)) break;
    }
    const x = await a.recv_bytes();
    assert.deepEqual(s, x);
  }

  await p.join();
  assert.equal(p.exitcode, 0);
  a.close();
  b.close();
});

Deno.test("_TestPoll.test_boundaries", async () => {
  const [r, w] = Pipe({ duplex: false });
  const polling = new Event();
  const p = new Process({ target: tasks.childBoundaries, args: [r, polling], modules });
  p.start();
  await polling.wait();
  const L = ["first", "second"].map(latin);
  for (const obj of L) w.send_bytes(obj);
  w.close();
  await p.join();
  assert.equal(p.exitcode, 0);
  const got = await r.recv_bytes();
  assert.ok(L.some((obj) => String(obj) === String(got)), `${got} is not in ${L}`);
  r.close();
});

Deno.test("_TestPoll.test_dont_merge", async () => {
  const [a, b] = Pipe();
  assert.equal(await a.poll(0), false);
  assert.equal(await a.poll(100), false);

  const p = new Process({ target: tasks.childDontMerge, args: [b], modules });
  p.start();

  assert.deepEqual(await a.recv_bytes(), latin("a"));
  assert.equal(await a.poll(1000), true);
  assert.equal(await a.poll(1000), true);
  assert.deepEqual(await a.recv_bytes(), latin("b"));
  assert.equal(await a.poll(1000), true);
  assert.equal(await a.poll(1000), true);
  assert.equal(await a.poll(0), true);
  assert.deepEqual(await a.recv_bytes(), latin("cd"));

  await p.join();
  assert.equal(p.exitcode, 0);
  a.close();
  b.close();
});

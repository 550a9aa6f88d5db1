// The timers behind per-task timeouts (lib/_deadlines.ts): one FIFO and one
// timer per delay. Each test ends with every deadline fired or cancelled, so
// the sanitizer would report a timer left behind.
import assert from "node:assert/strict";
import { deadline } from "../lib/_deadlines.ts";

Deno.test("Deadlines fire in order, each once, not before their time", async () => {
  const fired: string[] = [];
  const started = performance.now();
  const all = new Promise<void>((resolve) => {
    const mark = (name: string) => () => {
      fired.push(name);
      assert.ok(performance.now() - started >= (name.startsWith("a") ? 30 : 10) - 1);
      if (fired.length === 4) resolve();
    };
    deadline(30, mark("a1"));
    deadline(10, mark("b1"));
    deadline(30, mark("a2"));
    deadline(10, mark("b2"));
  });
  await all;
  assert.deepEqual(fired, ["b1", "b2", "a1", "a2"]);
});

Deno.test("A cancelled deadline never fires; cancelling all of a delay's stops its timer", async () => {
  const fired: number[] = [];
  const cancels = Array.from({ length: 5000 }, (_, i) => deadline(20, () => fired.push(i)));
  // Cancel all but the last: the dead ones pile up behind a live head and are compacted.
  for (let i = 0; i < 4999; i++) cancels[i]();
  cancels[0](); // twice is harmless
  await new Promise<void>((resolve) => deadline(40, resolve));
  assert.deepEqual(fired, [4999]);
  for (const cancel of Array.from({ length: 10 }, () => deadline(60_000, () => fired.push(-1)))) {
    cancel(); // nothing left: the lane's timer is cleared (else the sanitizer fails the test)
  }
});

Deno.test("A deadline set while another fires, and delays setTimeout cannot take", async () => {
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    deadline(5, () => {
      order.push("first");
      deadline(5, () => {
        order.push("second");
        resolve();
      });
    });
  });
  assert.deepEqual(order, ["first", "second"]);
  let early = false;
  const cancel = deadline(2 ** 31 + 5, () => early = true);
  await new Promise<void>((resolve) => deadline(30, resolve));
  assert.equal(early, false, "2^31 ms did not fire at once");
  cancel();
});

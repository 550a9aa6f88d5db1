import assert from "node:assert/strict";
import { Ring } from "../lib/_ring.ts";
import { RING } from "../lib/_protocol.ts";

Deno.test("Ring reads frames back in order, across the wrap-around", () => {
  const ring = new Ring(64);
  const reader = new Ring(ring.buffer);
  for (let round = 0; round < 50; round++) {
    const frames = [`"a${round}"`, `"é€😀${round}"`];
    for (const f of frames) assert.ok(ring.write(f));
    for (const f of frames) assert.equal(reader.read(), f);
    assert.equal(reader.read(), undefined);
  }
});

Deno.test("Ring refuses a frame that does not fit and stays consistent", () => {
  const ring = new Ring(32);
  assert.ok(ring.write('"0123456789"')); // 4 + 12 bytes
  assert.equal(ring.write('"0123456789abcdef"'), false); // 4 + 18 > 16 free
  assert.ok(ring.hasData());
  assert.equal(ring.read(), '"0123456789"');
  assert.ok(ring.write('"0123456789abcdef"'));
  assert.equal(ring.read(), '"0123456789abcdef"');
  assert.equal(ring.hasData(), false);
});

Deno.test("Ring.ring() bumps the bell and notifies only a sleeping consumer", () => {
  const ring = new Ring(64);
  const bell = ring.bell;
  ring.ring();
  assert.equal(Atomics.load(bell, RING.BELL), 1);
  Atomics.store(bell, RING.SLEEPING, 1);
  ring.ring();
  assert.equal(Atomics.load(bell, RING.BELL), 2);
});

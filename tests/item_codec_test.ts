import assert from "node:assert/strict";
import { decodeFrame, encodeItem, toFrame } from "../lib/_item_codec.ts";
import { ByteQueue } from "../lib/_byte_queue.ts";

function roundTrip(value: unknown): unknown {
  const item = encodeItem(value);
  const parts = item.tagged
    ? toFrame(item)
    : [new Uint8Array([0]), new TextEncoder().encode(item.json)];
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    frame.set(p, at);
    at += p.length;
  }
  return decodeFrame(frame);
}

Deno.test("encodeItem() takes the plain path for JSON-safe items and tags the rest", () => {
  assert.equal(encodeItem({ a: [1, "x"] }).tagged, false);
  assert.equal(encodeItem({ a: undefined }).tagged, true);
  assert.deepEqual(roundTrip({ a: [1, "x"] }), { a: [1, "x"] });
});

Deno.test("decodeFrame() restores shared references, typed arrays and wrappers", () => {
  const shared = { n: 1 };
  const back = roundTrip({
    x: shared,
    y: shared,
    i: new BigInt64Array([-1n]),
    w: Object(false),
  }) as {
    x: object;
    y: object;
    i: BigInt64Array;
    w: boolean;
  };
  assert.equal(back.x, back.y);
  assert.deepEqual(back.i, new BigInt64Array([-1n]));
  assert.equal(back.w.valueOf(), false);
});

Deno.test("encodeItem() names the path of what cannot be cloned", () => {
  assert.throws(() => encodeItem({ list: [1, { f() {} }] }), /item\.list\[1\]\.f is a function/);
  assert.throws(() => encodeItem(new Int32Array(new SharedArrayBuffer(8))), /SharedArrayBuffer/);
});

Deno.test("ByteQueue grows past its first capacity keeping frames in order across the wrap", () => {
  const q = new ByteQueue();
  const text = "x".repeat(1000);
  // Fill and drain to move the head, then overfill so the frames wrap and the ring grows.
  for (let i = 0; i < 40; i++) q.pushText(0, text);
  for (let i = 0; i < 40; i++) q.shift(0);
  for (let i = 0; i < 200; i++) {
    q.push([new Uint8Array([0]), new TextEncoder().encode(`"${i}${text}"`)]);
  }
  for (let i = 0; i < 200; i++) {
    const frame = q.shift(0) as Uint8Array;
    assert.equal(decodeFrame(frame), `${i}${text}`);
  }
  assert.equal(q.shift(0), undefined);
});

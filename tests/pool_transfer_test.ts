// transfer(): buffers that move to a task or back from it instead of being
// copied; the sender's buffer is detached.
import assert from "node:assert/strict";
import { Pool, transfer } from "../mod.ts";
import * as control from "./fixtures/control_tasks.ts";

const modules = [new URL("./fixtures/control_tasks.ts", import.meta.url)];

for (const backend of ["web", "node"] as const) {
  Deno.test(`transfer() moves an argument's buffer: the sender's is detached (${backend})`, async () => {
    await using p = new Pool({ processes: 1, backend, modules });
    const bytes = new Uint8Array(1 << 20).fill(2);
    const marked = transfer(bytes, [bytes.buffer]);
    assert.equal(marked, bytes, "transfer() returns the value itself");
    assert.deepEqual(await p.apply(control.measure, [marked]), { length: 1 << 20, sum: 512 });
    assert.equal(bytes.byteLength, 0);
    assert.ok(bytes.buffer.detached);
    // Unmarked, the same kind of value is copied.
    const copied = new Uint8Array(1 << 20).fill(2);
    assert.deepEqual(await p.apply(control.measure, [copied]), { length: 1 << 20, sum: 512 });
    assert.equal(copied.byteLength, 1 << 20);
  });

  Deno.test(`transfer() moves a task's result: the worker's buffer is detached (${backend})`, async () => {
    await using p = new Pool({ processes: 1, backend, modules });
    const bytes = await p.apply(control.makeBytes, [1 << 20, 3]);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 1 << 20);
    assert.equal(bytes[12345], 3);
    assert.equal(await p.apply(control.keptLength), 0, "detached in the worker");
  });
}

Deno.test("transfer() of 64 MiB is much faster than a copy", async () => {
  await using p = new Pool({ processes: 1, modules });
  const size = 64 << 20;
  const time = async (moved: boolean) => {
    const bytes = new Uint8Array(size);
    const started = performance.now();
    await p.apply(control.measure, [moved ? transfer(bytes, [bytes.buffer]) : bytes]);
    return performance.now() - started;
  };
  await time(true);
  await time(false); // warm both paths
  const moved = Math.min(await time(true), await time(true), await time(true));
  const copied = Math.min(await time(false), await time(false), await time(false));
  // The task reads one byte in 4096 of it either way; a copy of 64 MiB takes tens of ms.
  assert.ok(
    moved * 2 < copied,
    `moved in ${moved.toFixed(2)} ms, copied in ${copied.toFixed(2)} ms`,
  );
});

Deno.test("transfer() in map items and several marked arguments", async () => {
  await using p = new Pool({ processes: 2, modules });
  const items = [1, 2, 3].map((n) => new Uint8Array(4096).fill(n));
  const lengths = await p.map(control.measure, items.map((b) => transfer(b, [b.buffer])), {
    chunksize: 1,
  });
  assert.deepEqual(lengths, [1, 2, 3].map((n) => ({ length: 4096, sum: n })));
  assert.ok(items.every((b) => b.byteLength === 0));
  // Two views of one buffer, both marked: it moves once.
  const buffer = new ArrayBuffer(8192);
  const a = new Uint8Array(buffer, 0, 4096);
  const b = new Uint8Array(buffer, 4096);
  const both = await p.apply(control.measure, [
    transfer(a, [buffer]),
    transfer(b, [buffer]),
  ] as never);
  assert.deepEqual(both, { length: 4096, sum: 0 });
  assert.ok(buffer.detached);
});

Deno.test("transfer() refuses what cannot move, with clear errors", () => {
  const bytes = new Uint8Array(4);
  assert.throws(() => transfer(5, []), {
    name: "TypeError",
    message:
      "Cannot transfer: 'value' must be the object that holds the buffers (a typed array, an ArrayBuffer, an object), received 5",
  });
  assert.throws(() => transfer(bytes, bytes as never), /'transferList' must be an array/);
  assert.throws(() => transfer(bytes, [bytes as never]), {
    name: "TypeError",
    message:
      "Cannot transfer: 'transferList[0]' must be an ArrayBuffer (a typed array's buffer is its .buffer), received an object (Uint8Array)",
  });
  assert.throws(
    () => transfer(bytes, [new SharedArrayBuffer(4) as never]),
    /'transferList\[0\]' must be an ArrayBuffer, received an object \(SharedArrayBuffer\)/,
  );
  const gone = new ArrayBuffer(4);
  structuredClone(gone, { transfer: [gone] });
  assert.throws(() => transfer({ gone }, [gone]), {
    name: "RangeError",
    message: "Cannot transfer: 'transferList[0]' is detached (it was moved already)",
  });
});

Deno.test("A task whose transferred buffer was detached since it was marked fails alone", async () => {
  await using p = new Pool({ processes: 1, modules });
  const bytes = new Uint8Array(16);
  const marked = transfer(bytes, [bytes.buffer]);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] }); // moved elsewhere first
  await assert.rejects(
    p.apply(control.measure, [marked]),
    /Cannot send the arguments of task 'measure' to a worker/,
  );
  assert.deepEqual(await p.apply(control.measure, [new Uint8Array(1)]), { length: 1, sum: 0 });
});

import assert from "node:assert/strict";
import { ByteQueue, Q } from "../lib/_byte_queue.ts";
import { Empty, Full, JoinableQueue, Pipe, Pool, Process, Queue, SimpleQueue } from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Queue is FIFO, bounded by maxsize, with nowait variants and Empty/Full", async () => {
  const q = new Queue<number>(2);
  assert.ok(q.empty() && !q.full());
  await q.put(1);
  q.putNowait(2);
  assert.ok(q.full());
  assert.equal(q.qsize(), 2);
  assert.throws(() => q.putNowait(3), Full);
  await assert.rejects(q.put(3, { block: false }), Full);
  assert.equal(await q.get(), 1);
  assert.equal(q.get_nowait(), 2);
  assert.throws(() => q.getNowait(), Empty);
  await assert.rejects(q.get({ block: false }), Empty);
  q.put_nowait(4);
  assert.equal(await q.get(), 4);
  assert.throws(() => new Queue(1.5), TypeError);
});

Deno.test("Queue timeouts are honoured within a wide margin", async () => {
  const q = new Queue<number>(1);
  let started = performance.now();
  await assert.rejects(q.get({ timeout: 100 }), /stayed empty for 100 ms/);
  let elapsed = performance.now() - started;
  assert.ok(elapsed >= 90 && elapsed < 1000, `get waited ${elapsed} ms`);
  await q.put(1);
  started = performance.now();
  await assert.rejects(q.put(2, { timeout: 100 }), Full);
  elapsed = performance.now() - started;
  assert.ok(elapsed >= 90 && elapsed < 1000, `put waited ${elapsed} ms`);
});

Deno.test("Queue keeps structured-clone types and refuses what cannot be cloned", async () => {
  const q = new Queue<unknown>();
  const cyclic: Record<string, unknown> = { list: [1, , undefined, -0, NaN, 2n ** 70n] };
  cyclic.self = cyclic;
  const items = [
    new Date(5),
    new Map<unknown, unknown>([[1, { a: new Set(["x"]) }]]),
    new Float32Array([1.5, -2]),
    new Uint8Array([1, 2, 3]).buffer,
    new DataView(new ArrayBuffer(2)),
    /re+/gi,
    new TypeError("bad", { cause: "why" }),
    cyclic,
    "naïve ✓",
    { nested: { deep: [null, true, "s"] } },
  ];
  for (const item of items) await q.put(item);
  await assert.rejects(q.put({ fn: () => 1 }), /item\.fn is a function/);
  await assert.rejects(q.put(new WeakMap()), TypeError);
  assert.equal(q.qsize(), items.length, "a refused put leaves the queue as it was");
  for (const item of items.slice(0, 6)) assert.deepEqual(await q.get(), item);
  const error = await q.get() as TypeError;
  assert.ok(error instanceof TypeError && error.message === "bad" && error.cause === "why");
  const back = await q.get() as typeof cyclic;
  assert.equal(back.self, back);
  assert.ok(!(1 in (back.list as unknown[])) && Object.is((back.list as unknown[])[3], -0));
  assert.equal((back.list as unknown[])[5], 2n ** 70n);
  assert.equal(await q.get(), "naïve ✓");
  assert.deepEqual(await q.get(), items[9]);
});

Deno.test("Queue carries items of 64 MiB between threads", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const from = new Queue<Uint8Array>();
  const to = new Queue<Uint8Array>();
  const big = new Uint8Array(64 * 1024 * 1024);
  big[0] = 1;
  big[big.length - 1] = 2;
  await from.put(big);
  await pool.apply(ipc.relay, [from, to]);
  const back = await to.get();
  assert.equal(back.length, big.length);
  assert.ok(back[0] === 1 && back[back.length - 1] === 2);
});

Deno.test("Queue with many producers and consumers loses and duplicates nothing", async () => {
  await using pool = new Pool({ processes: 2, concurrency: 4, modules });
  const q = new Queue<[number, number] | null>(64);
  const out = new Queue<unknown[]>();
  const producers = 4, perProducer = 3_000, consumers = 3;
  const consumed = Array.from(
    { length: consumers },
    () => pool.apply(ipc.consumeUntilSentinel, [q, out]),
  );
  const produced = Array.from(
    { length: producers },
    (_, p) => pool.apply(ipc.produce, [q, p, perProducer]),
  );
  // The main thread produces too.
  for (let i = 0; i < perProducer; i++) await q.put([producers, i]);
  await Promise.all(produced);
  for (let c = 0; c < consumers; c++) await q.put(null); // one sentinel per consumer
  await Promise.all(consumed);
  const seen = new Set<string>();
  for (let c = 0; c < consumers; c++) {
    for (const item of await out.get()) {
      const key = JSON.stringify(item);
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
    }
  }
  assert.equal(seen.size, (producers + 1) * perProducer);
});

Deno.test("Queue, JoinableQueue and SimpleQueue arrive as working handles, at any depth", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const q = new Queue<unknown>();
  const inner = new SimpleQueue<string>();
  await q.put({ deep: [inner] });
  const to = new Queue<unknown>();
  await pool.apply(ipc.relay, [q, to]);
  const { deep: [same] } = await to.get() as { deep: [SimpleQueue<string>] };
  assert.equal(same, inner, "a queue that comes back is the same object");
  const made = await pool.apply(ipc.makeQueue, ["made in a worker"]);
  assert.ok(made instanceof Queue);
  assert.equal(await made.get(), "made in a worker");
});

Deno.test("Queue.close() wakes a blocked getter with an error; remaining items still come out", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const q = new Queue<string>();
  const out = new Queue<string>();
  const task = pool.apply(ipc.getAndReport, [q, out]);
  assert.equal(await out.get(), "waiting");
  q.close();
  await task;
  assert.match(await out.get(), /^Error: Cannot get: .*closed/);
  const r = new Queue<number>();
  await r.put(1);
  r.close();
  assert.ok(r.closed);
  await assert.rejects(r.put(2), /the queue is closed/);
  assert.equal(await r.get(), 1);
  await assert.rejects(r.get(), /closed/);
});

Deno.test("Queue.close() wakes a blocked putter with an error", async () => {
  const q = new Queue<number>(1);
  await q.put(1);
  const blocked = q.put(2);
  q.close();
  await assert.rejects(blocked, /the queue is closed/);
});

Deno.test("Queue: a consumer terminated while blocked in get() loses nothing", async () => {
  const q = new Queue<string>();
  const ready = new Queue<string>();
  const p = new Process({ target: ipc.getForever, args: [q, ready], modules });
  p.start();
  assert.equal(await ready.get(), "blocked");
  p.terminate();
  await p.join();
  assert.equal(p.exitcode, -15);
  await q.put("still here");
  assert.equal(await q.get({ timeout: 5_000 }), "still here");
});

Deno.test("A worker's waits without a timeout are woken from that same worker", async () => {
  const out = new Queue<unknown[]>();
  const p = new Process({ target: ipc.wakeFromThisThread, args: [out], modules });
  p.start();
  assert.deepEqual(await out.get({ timeout: 10_000 }), ["put here", true, true]);
  await p.join();
  assert.equal(p.exitcode, 0);
});

Deno.test("JoinableQueue counts taskDone() and join() waits for all", async () => {
  const q = new JoinableQueue<number>();
  await q.put(1);
  await q.put(2);
  assert.equal(await q.join(10), false);
  await q.get();
  q.task_done();
  await q.get();
  q.taskDone();
  assert.equal(await q.join(), true);
  assert.throws(() => q.taskDone(), /more times than there were items/);
});

Deno.test("Seed 001: JoinableQueue with three producers and two daemon consumers", async () => {
  const q = new JoinableQueue<string>();
  const eaten = new Queue<string>();
  const producers = ["baozi", "bone", "slop"].map((name) =>
    new Process({ target: ipc.joinableProducer, args: [name, q], modules })
  );
  const consumers = [1, 2].map(() =>
    new Process({ target: ipc.joinableConsumer, args: [q, eaten], modules, daemon: true })
  );
  for (const p of [...producers, ...consumers]) p.start();
  for (const p of producers) await p.join();
  // The producers returned only after q.join(): every item was eaten.
  const lines = [];
  while (!eaten.empty()) lines.push(await eaten.get());
  assert.equal(lines.length, 30);
  assert.ok(producers.every((p) => p.exitcode === 0));
  assert.ok(consumers.every((c) => c.isAlive()), "daemon consumers loop forever");
  for (const c of consumers) c.terminate();
  for (const c of consumers) await c.join();
});

Deno.test("Queue keeps one producer's order while the ring wraps and grows under a live consumer", async () => {
  const q = new Queue<unknown>();
  const count = 60_000;
  const p = new Process({ target: ipc.produceStress, args: [q, count], modules });
  p.start();
  for (let i = 0; i < count; i++) {
    const item = await q.get();
    if (item !== ipc.stressItem(i)) {
      assert.fail(`item ${i}: got ${JSON.stringify(item)?.slice(0, 40)}`);
    }
  }
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.ok(q.empty());
});

Deno.test("Byte queue counts stay right when the frame counters wrap past 2^31", () => {
  const q = new ByteQueue();
  // As after two billion frames: both counters just below the int32 limit.
  q.ctl[Q.PUTS] = 2 ** 31 - 3;
  q.ctl[Q.GETS] = 2 ** 31 - 3;
  for (let i = 0; i < 6; i++) q.pushText(0, String(i));
  assert.equal(q.count(), 6);
  const got = [];
  for (let frame = q.shift(0); frame !== undefined; frame = q.shift(0)) got.push(frame);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5]); // integer frames come back as numbers
  assert.equal(q.count(), 0);
});

Deno.test("Numbers come back exact through queues and pipes: 0, -0, negatives, 16+ digits, floats", async () => {
  const values = [
    0,
    -0,
    -5,
    7,
    9,
    10,
    -10,
    99,
    100,
    123456789012345,
    1234567890123456,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53,
    2 ** 60,
    -1.5,
    1e21,
    "12",
  ];
  const q = new Queue<unknown>();
  for (const v of values) q.putNowait(v);
  const got = values.map(() => q.getNowait()); // getNowait of 0 is an item, not "empty"
  assert.deepEqual(got, values);
  assert.ok(Object.is(got[1], -0));
  const [a, b] = Pipe();
  for (const v of values) b.send(v);
  const received = [];
  for (const _ of values) received.push(await a.recv());
  assert.deepEqual(received, values);
  a.close();
  b.close();
});

Deno.test("Integers written digit by digit into the ring survive its wrapping, through put() and send()", async () => {
  // Alternating put and get keeps the ring at its first size, so the frames
  // (6 to 24 bytes) wrap past its end again and again, splitting digits.
  const q = new Queue<number>(3);
  const [a, b] = Pipe();
  let n = 1;
  for (let i = 0; i < 30_000; i++) {
    n = i % 7 === 0 ? -n * 3 - i : (n * 7 + i) % Number.MAX_SAFE_INTEGER;
    await q.put(n);
    b.send(n);
    assert.equal(await q.get(), n);
    assert.equal(await a.recv(), n);
  }
  a.close();
  b.close();
});

Deno.test("Two producers writing items of mixed sizes while the ring wraps: every item intact, in each producer's order", async () => {
  const q = new Queue<string>();
  const count = 4_000;
  const producers = [0, 1].map((p) =>
    new Process({ target: ipc.produceSized, args: [q, p, count], modules })
  );
  for (const p of producers) p.start();
  const next = [0, 0];
  for (let n = 0; n < 2 * count; n++) {
    const item = await q.get();
    const p = Number(item.slice(0, item.indexOf(":")));
    if (item !== ipc.sizedItem(p, next[p])) {
      assert.fail(`item ${n}: expected ${p}:${next[p]}, got ${JSON.stringify(item.slice(0, 30))}`);
    }
    next[p]++;
  }
  for (const p of producers) await p.join();
  assert.ok(q.empty());
});

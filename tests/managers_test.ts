import assert from "node:assert/strict";
import { Lock, Manager, Pool, Process, Queue } from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Manager dict, list and namespace proxies work on the main thread", async () => {
  await using manager = new Manager();
  const d = manager.dict({ a: 1 });
  await d.set("b", [2]);
  assert.equal(await d.get("a"), 1);
  assert.equal(await d.get("missing", "fallback"), "fallback");
  assert.ok(await d.has("b"));
  assert.deepEqual(await d.keys(), ["a", "b"]);
  assert.equal(await d.length(), 2);
  assert.ok(await d.delete("a"));
  assert.deepEqual(await d.toObject(), { b: [2] });
  const l = manager.list([1, 2]);
  await l.append(3);
  await l.extend([4, 5]);
  await l.set(-1, 50);
  assert.equal(await l.get(0), 1);
  assert.equal(await l.pop(), 50);
  assert.deepEqual(await l.toArray(), [1, 2, 3, 4]);
  await assert.rejects(l.get(10), RangeError);
  const ns = manager.namespace({ x: 1 });
  await ns.set("y", 2);
  assert.deepEqual(await ns.toObject(), { x: 1, y: 2 });
});

Deno.test("The manager holds copies: later changes to a value set or got do not reach it", async () => {
  await using manager = new Manager();
  const d = manager.dict();
  const value = { list: [1], when: new Date(0) };
  await d.set("v", value);
  value.list.push(2);
  const got = await d.get("v") as typeof value;
  got.list.push(3);
  assert.deepEqual(await d.get("v"), { list: [1], when: new Date(0) });
  const l = manager.list([[1]]);
  ((await l.toArray())[0] as number[]).push(2);
  assert.deepEqual(await l.toArray(), [[1]]);
  await assert.rejects(d.set("f", () => 1), TypeError);
  assert.deepEqual(await d.keys(), ["v"]);
});

Deno.test("A worker's first call with an argument that cannot be cloned fails alone", async () => {
  await using manager = new Manager();
  await using pool = new Pool({ processes: 1, modules });
  const d = manager.dict();
  assert.equal(await pool.apply(ipc.badThenGoodCall, [d]), "TypeError");
  assert.deepEqual(await d.toObject(), { ok: 1 });
});

Deno.test("Calls made at once from a worker each get their own answer", async () => {
  await using manager = new Manager();
  await using pool = new Pool({ processes: 1, modules });
  const d = manager.dict({ base: "b" });
  const expected = Array.from({ length: 20 }, (_, i) => i % 2 === 1 ? `set k${i}` : `b+${i}`);
  assert.deepEqual(await pool.apply(ipc.concurrentCalls, [d]), expected);
  assert.deepEqual(await pool.apply(ipc.concurrentCalls, [d]), expected); // and again, warm
  assert.equal(await d.length(), 11);
});

Deno.test("Seed 001: 100 processes each decrement a managed count under a Lock; it ends at 0", async () => {
  const lock = new Lock();
  await using manager = new Manager();
  const dic = manager.dict({ count: 101 });
  // One process first, so that the hundred find the worker modules compiled (on a fresh
  // checkout, a hundred workers compiling them at once take minutes on two cores).
  const first = new Process({ target: ipc.decrementCount, args: [dic, lock], modules });
  first.start();
  await first.join();
  const processes = Array.from(
    { length: 100 },
    () => new Process({ target: ipc.decrementCount, args: [dic, lock], modules }),
  );
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  assert.ok(processes.every((p) => p.exitcode === 0));
  assert.deepEqual(await dic.toObject(), { count: 0 });
});

Deno.test("Seed 004: a process fills a managed dict and list", async () => {
  await using manager = new Manager();
  const d = manager.dict();
  const l = manager.list();
  const p = new Process({ target: ipc.fillManaged, args: [d, l], modules });
  p.start();
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.deepEqual(await d.toObject(), {
    key1: "val1",
    key2: "val2",
    key3: "val3",
    key4: "val4",
    key5: "val5",
  });
  assert.deepEqual(await l.toArray(), [11, 12, 13, 14, 15]);
});

Deno.test("Manager proxies nest (a list inside a dict) and pass into Pool tasks", async () => {
  await using manager = new Manager();
  await using pool = new Pool({ processes: 2, modules });
  const d = manager.dict();
  await d.set("inner", manager.list(["from main"]));
  assert.deepEqual(await pool.apply(ipc.appendNested, [d]), ["from main", "from a worker"]);
  const inner = await d.get("inner") as Awaited<ReturnType<typeof manager.list>>;
  assert.deepEqual(await inner.toArray(), ["from main", "from a worker"]);
  assert.ok(manager.Queue() instanceof Queue && manager.Lock() instanceof Lock);
});

Deno.test("A proxy used after its Manager shut down gives a clear error", async () => {
  const manager = new Manager();
  const d = manager.dict({ a: 1 });
  await manager.shutdown();
  await assert.rejects(d.get("a"), /its Manager has shut down/);
  assert.throws(() => manager.list(), /the Manager has shut down/);
  await manager.shutdown(); // twice is fine
});

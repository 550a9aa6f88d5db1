import assert from "node:assert/strict";
import { EOFError, Lock, Pipe, Pool, Process, Queue } from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Pipe() gives two duplex ends that send values and bytes both ways", async () => {
  const [a, b] = Pipe();
  a.send({ when: new Date(3), tags: new Set(["x"]) });
  b.send([1, 2]);
  assert.deepEqual(await b.recv(), { when: new Date(3), tags: new Set(["x"]) });
  assert.deepEqual(await a.recv(), [1, 2]);
  b.sendBytes(new Uint8Array([0, 1, 2, 3, 4]), 1, 3);
  b.send_bytes(new Uint16Array([0x0102]).buffer);
  assert.deepEqual(await a.recvBytes(), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await a.recv_bytes(), new Uint8Array(new Uint16Array([0x0102]).buffer));
  assert.throws(() => a.sendBytes(new Uint8Array(2), 3), RangeError);
  assert.throws(() => a.send(Symbol("s")), TypeError);
  a.close();
  b.close();
});

Deno.test("Connection.poll() waits up to its timeout and sees data and end-of-file", async () => {
  const [a, b] = Pipe();
  assert.equal(await a.poll(), false);
  const started = performance.now();
  assert.equal(await a.poll(80), false);
  assert.ok(performance.now() - started >= 70);
  b.send("x");
  assert.equal(await a.poll(), true);
  assert.equal(await a.recv(), "x");
  b.close();
  assert.equal(await a.poll(null), true, "end-of-file is readable");
  await assert.rejects(a.recv(), EOFError);
  a.close();
});

Deno.test("Connection.recvBytes(maxlength) refuses a longer message and keeps it", async () => {
  const [a, b] = Pipe();
  b.sendBytes(new Uint8Array(10));
  await assert.rejects(a.recvBytes(4), /10 bytes, more than maxlength 4/);
  assert.equal((await a.recvBytes()).length, 10);
  a.close();
  b.close();
});

Deno.test("Connection.recvBytes(maxlength) on a pipe: maxlength is an integer >= 0", async () => {
  const [a, b] = Pipe();
  b.sendBytes(new Uint8Array(1));
  for (const bad of [-1, 1.5, NaN, Infinity]) {
    await assert.rejects(a.recvBytes(bad), RangeError, String(bad));
  }
  for (const bad of ["5", null, 5n]) {
    await assert.rejects(a.recvBytes(bad as unknown as number), TypeError, String(bad));
  }
  assert.equal((await a.recvBytes(1)).length, 1, "nothing was taken meanwhile");
  b.sendBytes(new Uint8Array(0));
  assert.equal((await a.recvBytes(0)).length, 0);
  a.close();
  b.close();
});

Deno.test("A one-way pipe refuses the wrong direction; a closed handle refuses everything", async () => {
  const [reader, writer] = Pipe({ duplex: false });
  assert.ok(reader.readable && !reader.writable && writer.writable && !writer.readable);
  assert.throws(() => reader.send(1), /can only receive/);
  await assert.rejects(writer.recv(), /can only send/);
  writer.send("last");
  writer.close();
  assert.ok(writer.closed);
  assert.throws(() => writer.send(1), /the connection is closed/);
  assert.equal(await reader.recv(), "last");
  await assert.rejects(reader.recv(), EOFError);
  reader.close();
  const [a, b] = Pipe();
  a.close();
  assert.throws(() => b.send(1), /the other end is closed/);
  b.close();
});

Deno.test("Seed 001: the child sends over the pipe and closes its end", async () => {
  const [parent, child] = Pipe();
  const p = new Process({ target: ipc.greet, args: [child], modules });
  p.start();
  assert.equal(await parent.recv(), "Hello The_Third_Wave");
  await p.join();
  assert.equal(p.exitcode, 0);
  parent.close();
  child.close();
});

Deno.test("Seed 001: pipe producer/consumer ends with EOFError once every copy is closed", async () => {
  const [produce, consume] = Pipe();
  const out = new Queue<string>();
  const c1 = new Process({
    target: ipc.pipeConsumer,
    args: [[produce, consume], "c1", out],
    modules,
  });
  c1.start();
  consume.close(); // the producer's copy of the receiving end
  for (let i = 0; i < 10; i++) produce.send(i);
  produce.close(); // with the consumer's copy closed too, the consumer sees end-of-file
  await c1.join();
  const lines = [];
  while (!out.empty()) lines.push(await out.get());
  assert.deepEqual(lines, [...Array.from({ length: 10 }, (_, i) => `c1 got ${i}`), "EOF"]);
});

Deno.test("Connection passed to pool tasks works from a worker", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const [a, b] = Pipe();
  await pool.apply(ipc.sendNumbers, [b, 1_000]);
  let sum = 0;
  for (let i = 0; i < 1_000; i++) sum += await a.recv<number>();
  assert.equal(sum, 499_500);
  assert.deepEqual(await a.recvBytes(), new Uint8Array([7, 8, 9]));
  a.close();
  b.close();
});

Deno.test("A connection handed to another thread keeps the messages this one read ahead", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const [a, b] = Pipe();
  for (let i = 0; i < 10; i++) b.send(i);
  assert.equal(await a.recv(), 0); // reads ahead internally
  assert.deepEqual(await pool.apply(ipc.receiveAll, [a, 9]), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  a.close();
  b.close();
});

Deno.test("Seed 001: two consumers read one pipe end under a Lock; each message reaches one of them", async () => {
  const [consume, produce] = Pipe();
  const lock = new Lock();
  const out = new Queue<number>();
  const consumers = [0, 1].map(() =>
    new Process({ target: ipc.recvUntilNull, args: [consume, lock, out], modules })
  );
  for (const c of consumers) c.start();
  consume.close();
  for (let i = 0; i < 200; i++) produce.send(i);
  produce.send(null);
  produce.send(null);
  for (const c of consumers) await c.join();
  produce.close();
  const received = [];
  while (!out.empty()) received.push(await out.get());
  // A reader that took messages ahead of the other (and dropped them when it
  // stopped) would lose some here.
  assert.deepEqual(received.sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
});

Deno.test("A Connection given to a Pool task may be closed right after submitting", async () => {
  await using pool = new Pool({ processes: 1, modules });
  const [parent, child] = Pipe();
  const result = pool.applyAsync(ipc.greet, [child]);
  child.close(); // the task holds its own handle from the moment it was submitted
  assert.equal(await parent.recv(), "Hello The_Third_Wave");
  await result;
  await assert.rejects(parent.recv(), EOFError);
  parent.close();
});

Deno.test("A task its pool never ran lets go of its Connection: the peer sees end-of-file", async () => {
  const pool = new Pool({ processes: 1, modules });
  const [parent, child] = Pipe();
  const never = pool.applyAsync(ipc.greet, [child]);
  child.close(); // the queued task holds the only other reference now
  const stopping = pool.terminate(); // synchronously fails the task before it is sent
  await assert.rejects(never.get(), /terminated/);
  await stopping;
  await assert.rejects(parent.recv(), EOFError); // not a wait forever
  parent.close();
});

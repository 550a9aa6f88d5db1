// CPython's _TestConnection (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_fd_transfer, test_large_fd_transfer, test_missing_fd_transfer: file descriptors sent
//   over a connection (multiprocessing.reduction).
// - In test_connection, the fileno() check and recv_bytes_into() / BufferTooShort: connections
//   here have no file descriptor and no recv_bytes_into(); the bytes of the array are checked
//   with recvBytes() instead.
//
// Departure met in test_connection: the child echoes with recv_bytes/send_bytes. In Python a
// value sent with send() is its pickle, so its bytes echoed back recv() as the value again. Here
// recvBytes() of a send() message gives its encoded bytes, and recv() of a sendBytes() message
// gives bytes, not a value decoded from them: an echoed value comes back as a Uint8Array.
//
// The children are daemons in CPython; the flag is dropped (see process_test.ts).
import assert from "node:assert/strict";
import { EOFError, Pipe, Process } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { assertTiming, latin, modules, TIMEOUT1, Timing } from "./_helpers.ts";

const SENTINEL = latin("");

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test("_TestConnection.test_connection", async () => {
  const [conn, childConn] = Pipe();

  const p = new Process({ target: tasks.echo, args: [childConn], modules });
  p.start();

  const seq = [1, 2.25, null];
  const msg = latin("hello world");
  const longmsg = latin("hello world".repeat(10));
  const arr = new Int32Array([0, 1, 2, 3]);
  assert.ok(longmsg.length > 40);

  assert.equal(await conn.send(seq), undefined);
  // Python: conn.recv() == seq (see the departure at the top of the file).
  assert.ok((await conn.recv()) instanceof Uint8Array);

  assert.equal(await conn.send_bytes(msg), undefined);
  assert.deepEqual(await conn.recv_bytes(), msg);

  // In place of recv_bytes_into(): the array's bytes come back as they went.
  assert.equal(await conn.sendBytes(arr), undefined);
  assert.deepEqual(await conn.recvBytes(), new Uint8Array(arr.buffer));

  const poll = new Timing();

  assert.equal(await poll.run(() => conn.poll()), false);
  assertTiming(poll.elapsed, 0);

  // CPython also checks poll(-1) == False here: see the "poll(-1)" test below.

  assert.equal(await poll.run(() => conn.poll(TIMEOUT1)), false);
  assertTiming(poll.elapsed, TIMEOUT1);

  conn.send(null);
  // CPython sleeps 0.1 s so that the echo is back; here the test waits for it.
  assert.ok(await conn.poll(30_000));

  assert.equal(await poll.run(() => conn.poll(TIMEOUT1)), true);
  assertTiming(poll.elapsed, 0);

  // Python: conn.recv() is None (see the departure at the top of the file).
  assert.ok((await conn.recv()) instanceof Uint8Array);

  const reallyBigMsg = new Uint8Array(1024 * 1024 * 16).fill(0x58); // latin('X') * 16 MiB
  conn.send_bytes(reallyBigMsg);
  assert.ok(sameBytes(await conn.recv_bytes(), reallyBigMsg));

  conn.send_bytes(SENTINEL); // tell child to quit
  childConn.close();

  assert.equal(conn.readable, true);
  assert.equal(conn.writable, true);
  await assert.rejects(conn.recv(), EOFError);
  await assert.rejects(conn.recv_bytes(), EOFError);

  await p.join();
  assert.equal(p.exitcode, 0);
  conn.close();
});

Deno.test({
  // Departure: CPython's poll(-1) returns False at once, as poll(0) does; here
  // a negative timeout is refused with a RangeError.
  name: "_TestConnection.test_connection: poll(-1)",
  async fn() {
    const [conn, childConn] = Pipe();
    await assert.rejects(conn.poll(-1), RangeError);
    conn.close();
    childConn.close();
  },
});

Deno.test("_TestConnection.test_duplex_false", async () => {
  const [reader, writer] = Pipe({ duplex: false });
  assert.equal(await writer.send(1), undefined);
  assert.equal(await reader.recv(), 1);
  assert.equal(reader.readable, true);
  assert.equal(reader.writable, false);
  assert.equal(writer.readable, false);
  assert.equal(writer.writable, true);
  // Python raises OSError; here an Error that says which way the end goes.
  assert.throws(() => reader.send(2), /can only receive/);
  await assert.rejects(writer.recv(), /can only send/);
  await assert.rejects(writer.poll(), /can only send/);
});

Deno.test("_TestConnection.test_spawn_close", async () => {
  // We test that a pipe connection can be closed by parent
  // process immediately after child is spawned.
  const [conn, childConn] = Pipe();

  const p = new Process({ target: tasks.echo, args: [childConn], modules });
  p.start();
  childConn.close(); // this might complete before child initializes

  const msg = latin("hello");
  conn.send_bytes(msg);
  assert.deepEqual(await conn.recv_bytes(), msg);

  conn.send_bytes(SENTINEL);
  conn.close();
  await p.join();
  assert.equal(p.exitcode, 0);
});

Deno.test("_TestConnection.test_sendbytes", async () => {
  const msg = latin("abcdefghijklmnopqrstuvwxyz");
  const [a, b] = Pipe();

  a.send_bytes(msg);
  assert.deepEqual(await b.recv_bytes(), msg);

  a.send_bytes(msg, 5);
  assert.deepEqual(await b.recv_bytes(), msg.slice(5));

  a.send_bytes(msg, 7, 8);
  assert.deepEqual(await b.recv_bytes(), msg.slice(7, 7 + 8));

  a.send_bytes(msg, 26);
  assert.deepEqual(await b.recv_bytes(), latin(""));

  a.send_bytes(msg, 26, 0);
  assert.deepEqual(await b.recv_bytes(), latin(""));

  // Python raises ValueError; here a RangeError.
  assert.throws(() => a.send_bytes(msg, 27), RangeError);

  assert.throws(() => a.send_bytes(msg, 22, 5), RangeError);

  assert.throws(() => a.send_bytes(msg, 26, 1), RangeError);

  assert.throws(() => a.send_bytes(msg, -1), RangeError);

  assert.throws(() => a.send_bytes(msg, 4, -1), RangeError);

  a.close();
  b.close();
});

Deno.test("_TestConnection.test_context", async () => {
  const [a, b] = Pipe();

  {
    // with a, b:
    using _a = a;
    using _b = b;
    a.send(1729);
    assert.equal(await b.recv(), 1729);
    assert.ok(!a.closed);
    assert.ok(!b.closed);
  }

  assert.ok(a.closed);
  assert.ok(b.closed);
  // Python raises OSError; here an Error that says the connection is closed.
  await assert.rejects(a.recv(), /closed/);
  await assert.rejects(b.recv(), /closed/);
});

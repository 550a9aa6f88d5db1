// Listener and Client between Deno ends: values and bytes, end-of-file,
// poll, maxlength, recvBytesInto, addresses, Unix sockets, authkeys, and a
// peer that vanishes. Network only on 127.0.0.1 and Unix sockets in temp dirs.
import assert from "node:assert/strict";
import {
  AuthenticationError,
  BufferTooShort,
  Client,
  type Connection,
  EOFError,
  Listener,
  Process,
  Queue,
} from "../mod.ts";

/** A connected pair over TCP on 127.0.0.1: [client, server]. */
async function pair(
  listener: Listener,
  authkey?: string,
): Promise<[Connection, Connection]> {
  const accepting = listener.accept();
  const client = await Client(listener.address, { authkey });
  return [client, await accepting];
}

Deno.test("Listener/Client: values and bytes both ways, with an authkey", async () => {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
  const [client, server] = await pair(listener, "abc");
  using _c = client;
  using _s = server;
  const value = { n: 1, big: 2n ** 70n, when: new Date(0), set: new Set([1]), nested: [null] };
  await client.send(value);
  assert.deepEqual(await server.recv(), value);
  await server.send([1, "two", undefined]);
  assert.deepEqual(await client.recv(), [1, "two", undefined]);
  await client.sendBytes(new Uint8Array([1, 2, 3]));
  assert.deepEqual(await server.recvBytes(), new Uint8Array([1, 2, 3]));
  // recv() of a bytes message gives its bytes, as on a pipe.
  await server.sendBytes(new Uint8Array([9]));
  assert.deepEqual(await client.recv(), new Uint8Array([9]));
  // An empty message, and ones far past the read buffer (64 KiB) and a frame's usual size.
  await client.sendBytes(new Uint8Array(0));
  assert.deepEqual(await server.recvBytes(), new Uint8Array(0));
  for (const size of [70_000, 8 * 1024 * 1024 + 3]) {
    const big = new Uint8Array(size).map((_, i) => i % 251);
    // (Awaiting a big send first would wait for the peer to read, as Python's blocks.)
    const sending = client.sendBytes(big);
    assert.deepEqual(await server.recvBytes(), big);
    await sending;
    const sendingBack = server.send(big);
    assert.deepEqual(await client.recv(), big);
    await sendingBack;
  }
});

Deno.test("Connection over a socket: many messages sent without awaiting arrive in order", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  using _c = client;
  using _s = server;
  for (let i = 0; i < 1000; i++) client.send(i);
  client.sendBytes(new Uint8Array(100_000));
  for (let i = 0; i < 1000; i++) assert.equal(await server.recv(), i);
  assert.equal((await server.recvBytes()).length, 100_000);
});

Deno.test("Connection over a socket: EOFError once the peer closes, after what it sent", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  client.send("last words");
  client.close();
  assert.equal(await server.recv(), "last words");
  await assert.rejects(server.recv(), EOFError);
  await assert.rejects(server.recvBytes(), EOFError);
  assert.equal(await server.poll(), true, "end-of-file is readable");
  server.close();
  await assert.rejects(server.recv(), /the connection is closed/);
  assert.throws(() => server.send(1), /the connection is closed/);
});

Deno.test("Connection over a socket: a receive waiting when the peer closes fails, never hangs", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  const waiting = server.recv();
  client.close();
  await assert.rejects(waiting, EOFError);
  server.close();
});

Deno.test("Connection over a socket: sending to a peer that closed fails (at the latest on a later send)", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  server.close();
  await assert.rejects(client.recv(), EOFError);
  let failed: unknown;
  for (let i = 0; i < 100 && !failed; i++) {
    try {
      await client.sendBytes(new Uint8Array(65536));
    } catch (error) {
      failed = error;
    }
  }
  assert.match(String(failed), /Cannot sendBytes|Cannot send/);
  client.close();
});

Deno.test("Connection over a socket: poll() at once, with a timeout, and forever", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  using _c = client;
  using _s = server;
  assert.equal(await server.poll(), false);
  const t = performance.now();
  assert.equal(await server.poll(50), false);
  assert.ok(performance.now() - t >= 45);
  const polling = server.poll(null);
  await client.send("x");
  assert.equal(await polling, true);
  assert.equal(await server.poll(0), true);
  assert.equal(await server.recv(), "x");
  await client.send("y");
  assert.equal(await server.poll(Infinity), true);
  assert.equal(await server.recv(), "y");
  await assert.rejects(server.poll(-1), RangeError);
  await assert.rejects(server.poll(NaN), RangeError);
});

Deno.test("Connection over a socket: recvBytes(maxlength) of a longer message throws RangeError and keeps it", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  using _c = client;
  using _s = server;
  await client.sendBytes(new Uint8Array(10));
  await assert.rejects(server.recvBytes(9), (e: Error) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /10 bytes, more than maxlength 9/);
    return true;
  });
  assert.equal((await server.recvBytes(10)).length, 10);
  await assert.rejects(server.recvBytes(-1), RangeError);
  // maxlength is an integer >= 0: nothing is read for one that is not.
  await client.sendBytes(new Uint8Array(1));
  for (const bad of [1.5, NaN]) await assert.rejects(server.recvBytes(bad), RangeError);
  for (const bad of ["5", null]) {
    await assert.rejects(server.recvBytes(bad as unknown as number), TypeError);
  }
  assert.equal((await server.recvBytes(1)).length, 1);
});

Deno.test("Connection over a socket: recvBytesInto, and BufferTooShort with the message in it", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  using _c = client;
  using _s = server;
  await client.sendBytes(new Uint8Array([1, 2, 3]));
  const into = new Uint8Array(4);
  assert.equal(await server.recv_bytes_into(into, 1), 3);
  assert.deepEqual([...into], [0, 1, 2, 3]);
  await client.sendBytes(new Uint8Array([4, 5, 6, 7, 8]));
  await assert.rejects(server.recvBytesInto(into), (e: Error) => {
    assert.ok(e instanceof BufferTooShort);
    assert.deepEqual([...e.bytes], [4, 5, 6, 7, 8]);
    return true;
  });
  await assert.rejects(server.recvBytesInto(into, 5), RangeError);
  // The message was taken: the connection goes on with the next one.
  await client.sendBytes(new Uint8Array([9]));
  assert.equal(await server.recvBytesInto(new Float64Array(1)), 1);
});

Deno.test("Connection over a socket: shared objects cannot be sent, and the connection cannot leave its thread", async () => {
  await using listener = new Listener();
  const [client, server] = await pair(listener);
  using _c = client;
  using _s = server;
  const q = new Queue();
  assert.throws(() => client.send({ q }), /shared object \(Queue\).*cannot leave the program/);
  assert.throws(() => client.send(() => 1), TypeError);
  const tasks = "data:text/javascript,export function keep(conn) {}";
  const { keep } = await import(tasks);
  const p = new Process({ target: keep, args: [client], modules: [tasks] });
  assert.throws(() => p.start(), /Cannot send a socket Connection to another thread/);
  await client.send("still usable");
  assert.equal(await server.recv(), "still usable");
});

Deno.test("Client/Listener: a wrong authkey is an AuthenticationError on both sides", async () => {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: "right" });
  const [server, client] = await Promise.allSettled([
    listener.accept(),
    Client(listener.address, { authkey: new TextEncoder().encode("wrong") }),
  ]);
  assert.ok(server.status === "rejected" && server.reason instanceof AuthenticationError);
  assert.ok(client.status === "rejected" && client.reason instanceof AuthenticationError);
  // The listener goes on.
  const [good, accepted] = await pair(listener, "right");
  good.close();
  accepted.close();
});

Deno.test("Client with an authkey against a Listener without one times out in the handshake", async () => {
  await using listener = new Listener();
  const accepting = listener.accept();
  await assert.rejects(
    Client(listener.address, { authkey: "abc", handshakeTimeout: 100 }),
    (e: Error) => e instanceof AuthenticationError && /within 100 ms/.test(e.message),
  );
  (await accepting).close();
});

Deno.test("Listener: address, port 0, lastAccepted, accept after close", async () => {
  const listener = new Listener(["127.0.0.1", 0]);
  const [host, port] = listener.address as [string, number];
  assert.equal(host, "127.0.0.1");
  assert.ok(port > 0);
  assert.equal(listener.lastAccepted, null);
  const [client, server] = await pair(listener);
  const [clientHost] = listener.last_accepted as [string, number];
  assert.equal(clientHost, "127.0.0.1");
  const waiting = listener.accept();
  listener.close();
  await assert.rejects(waiting, /the listener was closed/);
  await assert.rejects(listener.accept(), /the listener is closed/);
  client.close();
  server.close();
  await assert.rejects(Client(["127.0.0.1", port]), /Cannot connect to 127.0.0.1/);
});

Deno.test("Listener: without an authkey the host '' is 127.0.0.1; with one, every interface", () => {
  using open = new Listener(["", 0]);
  assert.equal((open.address as [string, number])[0], "127.0.0.1");
  using guarded = new Listener(["", 0], { authkey: "abc" });
  assert.equal((guarded.address as [string, number])[0], "0.0.0.0");
});

Deno.test("An empty authkey is no authkey: loopback for the host '', and no handshake", async () => {
  for (const authkey of ["", new Uint8Array(0)]) {
    await using listener = new Listener(["", 0], { authkey });
    assert.equal((listener.address as [string, number])[0], "127.0.0.1");
    // A Client with an empty key, and one with none, connect without a handshake.
    for (const clientKey of [authkey, undefined]) {
      const accepting = listener.accept();
      using conn = await Client(listener.address, { authkey: clientKey, handshakeTimeout: 5000 });
      using served = await accepting;
      await conn.send("no key");
      assert.equal(await served.recv(), "no key");
    }
  }
});

Deno.test("Listener and Client refuse bad addresses and options with a message", async () => {
  assert.throws(() => new Listener(["127.0.0.1", -1]), RangeError);
  assert.throws(() => new Listener(["127.0.0.1", 65536]), /0 to 65535, received 65536/);
  assert.throws(() => new Listener(["127.0.0.1", NaN]), RangeError);
  assert.throws(() => new Listener(["127.0.0.1", 1.5]), RangeError);
  assert.throws(() => new Listener(["127.0.0.1", "80" as unknown as number]), TypeError);
  assert.throws(() => new Listener("" as string), /must not be empty/);
  assert.throws(() => new Listener([1, 2] as unknown as [string, number]), TypeError);
  assert.throws(() => new Listener(undefined, { authkey: 5 as unknown as string }), TypeError);
  assert.throws(
    () => new Listener(undefined, { backlg: 1 } as unknown as Record<string, number>),
    /backlg/,
  );
  assert.throws(() => new Listener(undefined, { handshakeTimeout: -1 }), RangeError);
  using taken = new Listener();
  assert.throws(() => new Listener(taken.address), /the address is in use/);
  await assert.rejects(Client(["127.0.0.1", 0]), /1 to 65535, received 0/);
});

Deno.test("Listener/Client on a Unix socket; a path that exists is refused; close removes the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "net-unix-" });
  try {
    const path = `${dir}/s.sock`;
    const listener = new Listener(path, { authkey: "abc" });
    assert.equal(listener.address, path);
    const accepting = listener.accept();
    const client = await Client(path, { authkey: "abc" });
    const server = await accepting;
    await client.send("over a Unix socket");
    assert.equal(await server.recv(), "over a Unix socket");
    client.close();
    server.close();
    assert.throws(() => new Listener(path), /the path exists/);
    listener.close();
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    await Deno.writeTextFile(`${dir}/file`, "not a socket");
    assert.throws(() => new Listener(`${dir}/file`), /the path exists/);
    assert.equal(await Deno.readTextFile(`${dir}/file`), "not a socket", "left alone");
    await assert.rejects(Client(`${dir}/none.sock`), /nothing listens there/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Connection over a socket: a peer process killed mid-message fails the receive", async () => {
  await using listener = new Listener();
  const [, port] = listener.address as [string, number];
  // A child process connects, sends half a message, and is killed.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
       await c.write(new Uint8Array([0, 0, 1, 0, 1, 2, 3]));
       console.log("sent"); await new Promise(() => {});`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const conn = await listener.accept();
  const reader = child.stdout.getReader();
  await reader.read(); // "sent"
  const receiving = assert.rejects(conn.recvBytes(), /ended in the middle of a message/);
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  await receiving;
  conn.close();
});

// Python's wire format and handshake (lib/_python_wire.ts), and what a
// Listener does with peers that do not follow them: raw sockets send
// malformed frames, huge lengths, nothing at all, or vanish mid-message.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  answerChallenge,
  BadFrame,
  deliverChallenge,
  frameHeader,
  HANDSHAKE,
  HANDSHAKE_LIMITS,
  parseFrameHeader,
} from "../lib/_python_wire.ts";
import { AuthenticationError, Client, EOFError, Listener, Pipe } from "../mod.ts";

const encoder = new TextEncoder();
const key = encoder.encode("abc");

/** A frame as Python writes it: 4-byte big-endian length, then the bytes. */
function pyFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setInt32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Reads one Python frame from a raw socket. */
async function readPyFrame(conn: Deno.Conn): Promise<Uint8Array> {
  const header = await readExactly(conn, 4);
  const size = new DataView(header.buffer).getInt32(0);
  return await readExactly(conn, size);
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await conn.read(out.subarray(at));
    if (got === null) throw new EOFError("closed");
    at += got;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function rawConnect(listener: Listener): Promise<Deno.TcpConn> {
  const [hostname, port] = listener.address as [string, number];
  return Deno.connect({ hostname, port });
}

Deno.test("frameHeader: 4 bytes big-endian up to 2^31 - 1, then -1 and 8 bytes", () => {
  assert.deepEqual([...frameHeader(0)], [0, 0, 0, 0]);
  assert.deepEqual([...frameHeader(0x01020304)], [1, 2, 3, 4]);
  assert.deepEqual([...frameHeader(2 ** 31 - 1)], [0x7f, 0xff, 0xff, 0xff]);
  assert.deepEqual([...frameHeader(2 ** 31)], [
    0xff,
    0xff,
    0xff,
    0xff,
    ...[0, 0, 0, 0, 0x80, 0, 0, 0],
  ]);
  assert.deepEqual([...frameHeader(2 ** 40 + 5)], [
    0xff,
    0xff,
    0xff,
    0xff,
    ...[0, 0, 1, 0, 0, 0, 0, 5],
  ]);
});

Deno.test("parseFrameHeader: both forms, incomplete headers, and lengths nobody writes", () => {
  const long = frameHeader(2 ** 33);
  assert.deepEqual(parseFrameHeader(long, 0, 12), { size: 2 ** 33, headerBytes: 12 });
  assert.equal(parseFrameHeader(long, 0, 11), undefined);
  assert.equal(parseFrameHeader(frameHeader(5), 0, 3), undefined);
  assert.deepEqual(parseFrameHeader(frameHeader(5), 0, 4), { size: 5, headerBytes: 4 });
  // -1 then a short length is accepted, as Python reads it.
  const minusOne = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 7]);
  assert.deepEqual(parseFrameHeader(minusOne, 0, 12), { size: 7, headerBytes: 12 });
  assert.throws(() => parseFrameHeader(new Uint8Array([0xff, 0xff, 0xff, 0xfe]), 0, 4), BadFrame);
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => parseFrameHeader(huge, 0, 12), BadFrame);
});

Deno.test("handshake: deliver and answer with the same key succeed, in both directions", async () => {
  const [a, b] = Pipe();
  await Promise.all([deliverChallenge(a, key), answerChallenge(b, key)]);
  await Promise.all([answerChallenge(a, key), deliverChallenge(b, key)]);
  a.close();
  b.close();
});

Deno.test("handshake: a wrong key fails on both sides with AuthenticationError", async () => {
  const [a, b] = Pipe();
  const [server, client] = await Promise.allSettled([
    deliverChallenge(a, key),
    answerChallenge(b, encoder.encode("abd")),
  ]);
  assert.ok(server.status === "rejected" && server.reason instanceof AuthenticationError);
  assert.ok(client.status === "rejected" && client.reason instanceof AuthenticationError);
  a.close();
  b.close();
});

Deno.test("handshake: the challenge is Python 3.12's ({sha256} + 40 bytes), a 3.11 MD5 answer is accepted", async () => {
  const [a, b] = Pipe();
  const delivering = deliverChallenge(a, key);
  const challenge = await b.recvBytes();
  const prefix = HANDSHAKE.CHALLENGE.length;
  assert.deepEqual(challenge.subarray(0, prefix), HANDSHAKE.CHALLENGE);
  const message = challenge.subarray(prefix);
  assert.equal(new TextDecoder().decode(message.subarray(0, 8)), "{sha256}");
  assert.equal(message.length, 8 + 40);
  // Python 3.11 answers with the raw HMAC-MD5 of the whole message.
  b.sendBytes(new Uint8Array(createHmac("md5", key).update(message).digest()));
  await delivering;
  assert.deepEqual(await b.recvBytes(), HANDSHAKE.WELCOME);
  a.close();
  b.close();
});

Deno.test("handshake: answers a 3.11 challenge (20 bytes) with the raw HMAC-MD5", async () => {
  const [a, b] = Pipe();
  const message = crypto.getRandomValues(new Uint8Array(20));
  const challenge = new Uint8Array([...HANDSHAKE.CHALLENGE, ...message]);
  b.sendBytes(challenge);
  const answering = answerChallenge(a, key);
  const answer = await b.recvBytes();
  assert.deepEqual(answer, new Uint8Array(createHmac("md5", key).update(message).digest()));
  b.sendBytes(HANDSHAKE.WELCOME);
  await answering;
  a.close();
  b.close();
});

Deno.test("handshake: answers {sha384} and {sha3_256} challenges with that digest", async () => {
  for (const [name, node] of [["sha384", "sha384"], ["sha3_256", "sha3-256"], ["md5", "md5"]]) {
    const [a, b] = Pipe();
    const message = new Uint8Array([
      ...encoder.encode(`{${name}}`),
      ...crypto.getRandomValues(new Uint8Array(40)),
    ]);
    b.sendBytes(new Uint8Array([...HANDSHAKE.CHALLENGE, ...message]));
    const answering = answerChallenge(a, key);
    const answer = await b.recvBytes();
    const mac = new Uint8Array(createHmac(node, key).update(message).digest());
    assert.deepEqual(answer, new Uint8Array([...encoder.encode(`{${name}}`), ...mac]), name);
    b.sendBytes(HANDSHAKE.WELCOME);
    await answering;
    a.close();
    b.close();
  }
});

Deno.test("handshake: no challenge, an unknown digest, a short challenge or a #FAILURE# are refused", async () => {
  const cases: [Uint8Array, RegExp][] = [
    [encoder.encode("hello"), /no challenge/],
    [
      new Uint8Array([...HANDSHAKE.CHALLENGE, ...encoder.encode("{sha1}"), ...new Uint8Array(40)]),
      /digest/,
    ],
    [new Uint8Array([...HANDSHAKE.CHALLENGE, ...new Uint8Array(10)]), /too short/],
  ];
  for (const [challenge, error] of cases) {
    const [a, b] = Pipe();
    b.sendBytes(challenge);
    await assert.rejects(answerChallenge(a, key), (e: Error) => {
      assert.ok(e instanceof AuthenticationError);
      assert.match(e.message, error);
      return true;
    });
    a.close();
    b.close();
  }
  const [a, b] = Pipe();
  b.sendBytes(new Uint8Array([...HANDSHAKE.CHALLENGE, ...new Uint8Array(20)]));
  b.sendBytes(HANDSHAKE.FAILURE);
  await assert.rejects(answerChallenge(a, key), /rejected the digest/);
  a.close();
  b.close();
});

Deno.test("Listener: a frame longer than 256 bytes before authentication is refused unread", async () => {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
  const accepting = listener.accept();
  const raw = await rawConnect(listener);
  await readPyFrame(raw); // the challenge
  // Claims 2 GiB: refused from the header, nothing allocated for it.
  await writeAll(raw, new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
  await assert.rejects(accepting, (e: Error) => {
    assert.ok(e instanceof AuthenticationError);
    assert.match(e.message, /longer than 256 bytes/);
    return true;
  });
  assert.equal(await raw.read(new Uint8Array(16)), null, "the listener hung up");
  raw.close();
});

Deno.test("Listener: a client that sends nothing fails its accept() after handshakeTimeout, and does not hold up others", async () => {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc", handshakeTimeout: 2000 });
  const silent = await rawConnect(listener);
  const first = listener.accept();
  const second = listener.accept();
  // A good client connects after the silent one, and is served first.
  using good = await Client(listener.address, { authkey: "abc" });
  using served = await first;
  await good.send("hi");
  assert.equal(await served.recv(), "hi");
  await assert.rejects(second, /did not finish within 2000 ms/);
  silent.close();
});

Deno.test("Listener: seventy silent clients do not hold up a good one (every handshake runs at once)", async () => {
  await using listener = new Listener(["127.0.0.1", 0], {
    authkey: "abc",
    handshakeTimeout: 60_000,
  });
  const silent: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 70; i++) silent.push(await rawConnect(listener));
    const accepting = listener.accept();
    // (Before, 64 handshakes at a time held the rest in the backlog for handshakeTimeout.)
    using good = await Client(listener.address, { authkey: "abc", handshakeTimeout: 10_000 });
    using served = await accepting;
    await good.send("in");
    assert.equal(await served.recv(), "in");
  } finally {
    for (const conn of silent) conn.close();
  }
});

Deno.test("Listener: beyond the limit of handshakes under way, the oldest is dropped for the newest", async () => {
  const limit = HANDSHAKE_LIMITS.pending;
  HANDSHAKE_LIMITS.pending = 4;
  const silent: Deno.Conn[] = [];
  try {
    await using listener = new Listener(["127.0.0.1", 0], {
      authkey: "abc",
      handshakeTimeout: 60_000,
    });
    for (let i = 0; i < 10; i++) silent.push(await rawConnect(listener));
    const client = Client(listener.address, { authkey: "abc", handshakeTimeout: 10_000 });
    let dropped = 0;
    let served: Awaited<ReturnType<Listener["accept"]>> | undefined;
    while (!served) {
      try {
        served = await listener.accept();
      } catch (error) {
        assert.ok(error instanceof AuthenticationError);
        assert.match(error.message, /dropped, as 4 newer clients were going through/);
        dropped++;
      }
    }
    assert.ok(dropped >= 1);
    using good = await client;
    using _served = served;
    await good.send("in");
    assert.equal(await served.recv(), "in");
    // The seven oldest silent clients were hung up on (after their challenge).
    for (const conn of silent.slice(0, 7)) {
      const buffer = new Uint8Array(256);
      while (await conn.read(buffer) !== null);
    }
  } finally {
    HANDSHAKE_LIMITS.pending = limit;
    for (const conn of silent) conn.close();
  }
});

Deno.test("Listener: garbage instead of an answer, or a peer that leaves, is an AuthenticationError; the next accept goes on", async () => {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
  const accepting = listener.accept();
  const raw = await rawConnect(listener);
  await readPyFrame(raw);
  await writeAll(raw, pyFrame(encoder.encode("garbage, not a digest")));
  assert.deepEqual(await readPyFrame(raw), HANDSHAKE.FAILURE);
  await assert.rejects(accepting, AuthenticationError);
  raw.close();

  const leaving = listener.accept();
  const quitter = await rawConnect(listener);
  await readPyFrame(quitter);
  quitter.close();
  await assert.rejects(leaving, /ended during the handshake/);

  const next = listener.accept();
  using _client = await Client(listener.address, { authkey: "abc" });
  (await next).close();
});

Deno.test("Connection: a negative length, a mid-message end and a -1 + 8-byte header from a raw peer", async () => {
  await using listener = new Listener();
  const accepting = listener.accept();
  const raw = await rawConnect(listener);
  using conn = await accepting;

  // -1, then an 8-byte length: read as Python reads it.
  await writeAll(raw, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 7, 8]));
  assert.deepEqual(await conn.recvBytes(), new Uint8Array([7, 8]));
  // A length below -1: the connection stops reading, with an error saying why.
  await writeAll(raw, new Uint8Array([0xff, 0xff, 0xff, 0xf0]));
  await assert.rejects(conn.recvBytes(), /no multiprocessing connection writes/);
  await assert.rejects(conn.recv(), /no multiprocessing connection writes/);
  raw.close();

  const accepting2 = listener.accept();
  const raw2 = await rawConnect(listener);
  using conn2 = await accepting2;
  // Announces 100 bytes, sends 10, leaves.
  await writeAll(raw2, new Uint8Array([0, 0, 0, 100, ...new Uint8Array(10)]));
  raw2.close();
  await assert.rejects(conn2.recvBytes(), /ended in the middle of a message \(14 bytes/);
});

Deno.test("Connection: a peer that claims a huge length makes the buffer grow only with what it sends", async () => {
  await using listener = new Listener();
  const accepting = listener.accept();
  const raw = await rawConnect(listener);
  using conn = await accepting;
  // Claims 2^40 bytes, sends 1 MiB, then leaves: the receive fails, nothing near 2^40
  // was allocated (the process would not survive it).
  const header = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0]);
  const receiving = conn.recvBytes();
  await writeAll(raw, header);
  await writeAll(raw, new Uint8Array(1 << 20));
  raw.close();
  await assert.rejects(receiving, /ended in the middle of a message/);
  assert.ok(Deno.memoryUsage().rss < 2 ** 31);
});

Deno.test("Connection: a header claiming 64 MiB allocates nothing near it until the bytes arrive", async () => {
  await using listener = new Listener();
  const raws: Deno.Conn[] = [];
  const conns = [];
  try {
    for (let i = 0; i < 4; i++) {
      const accepting = listener.accept();
      raws.push(await rawConnect(listener));
      conns.push(await accepting);
    }
    for (const raw of raws) await writeAll(raw, new Uint8Array([0x03, 0xff, 0xff, 0xf0]));
    for (const conn of conns) assert.ok(await conn.poll(10_000), "the header arrived");
    const before = Deno.memoryUsage().external;
    // Each receive reads on, making room for the frame: room for what may come next only.
    const receiving = conns.map((conn) => conn.recvBytes().catch((e: Error) => e));
    const grown = Deno.memoryUsage().external - before;
    assert.ok(grown < 16 * 1024 * 1024, `${grown} bytes allocated for 4 headers`);
    for (const raw of raws.splice(0)) raw.close();
    for (const error of await Promise.all(receiving)) {
      assert.match(String(error), /ended in the middle of a message/);
    }
  } finally {
    for (const raw of raws) raw.close();
    for (const conn of conns) conn.close();
  }
});

Deno.test("Connection: a value message that is malformed is a TypeError; the connection goes on", async () => {
  await using listener = new Listener();
  const accepting = listener.accept();
  const raw = await rawConnect(listener);
  using conn = await accepting;
  const magic = [0xd3, 0x6d, 0x70, 0x01];
  await writeAll(
    raw,
    pyFrame(new Uint8Array([...magic, 1, 0, 0, 0, 5, 0, 0, 0, ...encoder.encode('["x"')])),
  );
  await assert.rejects(conn.recv(), TypeError);
  // A shared object's tag from another program is refused too.
  const tagged = encoder.encode('["x","Queue",1]');
  await writeAll(
    raw,
    pyFrame(new Uint8Array([...magic, 1, 0, 0, 0, tagged.length, 0, 0, 0, ...tagged])),
  );
  await assert.rejects(conn.recv(), /shared object/);
  await writeAll(raw, pyFrame(encoder.encode("still fine")));
  assert.deepEqual(await conn.recv(), encoder.encode("still fine"));
  raw.close();
});

// Listener and Client against Python's multiprocessing.connection, on
// 127.0.0.1: a Deno Client with a Python Listener, a Python Client with a
// Deno Listener, bytes both ways (an empty message and ones past 64 KiB),
// and a wrong authkey refused on both sides. Python 3.11 (HMAC-MD5) and
// 3.12+ ({sha256}) run when the machine has them; a missing one is skipped
// with a notice.
import assert from "node:assert/strict";
import { AuthenticationError, Client, EOFError, Listener } from "../mod.ts";

const HOME = Deno.env.get("HOME") ?? "";

/** The first interpreter found for each version: its path, or undefined. */
async function findPython(version: string): Promise<string | undefined> {
  const candidates = [`python${version}`];
  try {
    for await (const entry of Deno.readDir(`${HOME}/.pyenv/versions`)) {
      if (entry.name.startsWith(`${version}.`)) {
        candidates.push(`${HOME}/.pyenv/versions/${entry.name}/bin/python3`);
      }
    }
  } catch {
    // No pyenv here.
  }
  candidates.push("python3");
  for (const candidate of candidates) {
    try {
      const out = await new Deno.Command(candidate, {
        args: ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success && new TextDecoder().decode(out.stdout).trim() === version) return candidate;
    } catch {
      // Not installed.
    }
  }
  return undefined;
}

const SERVER = `
import sys
from multiprocessing.connection import Listener
l = Listener(('127.0.0.1', 0), authkey=sys.argv[1].encode())
print(l.address[1], flush=True)
try:
    with l.accept() as c:
        while True:
            try:
                m = c.recv_bytes()
            except EOFError:
                break
            c.send_bytes(m[::-1])
        print("served", flush=True)
except Exception as e:
    print(type(e).__name__, flush=True)
l.close()
`;

const CLIENT = `
import sys
from multiprocessing.connection import Client
try:
    c = Client(('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
except Exception as e:
    print(type(e).__name__, flush=True)
    sys.exit(0)
for m in [b'', b'hello', bytes(range(256)) * 300]:
    c.send_bytes(m)
    r = c.recv_bytes()
    assert r == m[::-1], (len(r), len(m))
c.send(('a pickle', 1))
print("ok", flush=True)
c.close()
`;

/** Runs a Python script; resolves its stdout lines as they come. */
function runPython(python: string, script: string, args: string[]) {
  const child = new Deno.Command(python, {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async line(): Promise<string> {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`python ended; it printed ${JSON.stringify(buffered)}`);
        buffered += value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    async end(): Promise<string> {
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.equal(status.code, 0, stderr);
      return stderr;
    },
  };
}

const reversed = (bytes: Uint8Array) => bytes.slice().reverse();

/** The first interpreter found, whatever its version. */
let anyPython: string | undefined;

for (const version of ["3.11", "3.12", "3.13"]) {
  const python = await findPython(version);
  anyPython ??= python;
  if (!python) {
    console.log(`NOTICE: Python ${version} is not on this machine: its interop tests are skipped`);
  }
  const ignore = !python;

  Deno.test({
    name: `Python ${version} Listener, Deno Client: bytes both ways`,
    ignore,
    async fn() {
      const py = runPython(python!, SERVER, ["abc"]);
      const port = Number(await py.line());
      const conn = await Client(["127.0.0.1", port], { authkey: "abc" });
      const messages = [
        new Uint8Array(0),
        new TextEncoder().encode("hello"),
        new Uint8Array(70_000).map((_, i) => i % 253),
        new Uint8Array(1 << 20).map((_, i) => i % 7),
      ];
      for (const message of messages) {
        const sending = conn.sendBytes(message);
        assert.deepEqual(await conn.recvBytes(), reversed(message));
        await sending;
      }
      conn.close();
      assert.equal(await py.line(), "served");
      await py.end();
    },
  });

  Deno.test({
    name: `Python ${version} Listener, Deno Client: a wrong authkey is refused on both sides`,
    ignore,
    async fn() {
      const py = runPython(python!, SERVER, ["abc"]);
      const port = Number(await py.line());
      await assert.rejects(
        Client(["127.0.0.1", port], { authkey: "wrong" }),
        AuthenticationError,
      );
      assert.equal(await py.line(), "AuthenticationError");
      await py.end();
    },
  });

  Deno.test({
    name:
      `Python ${version} Client, Deno Listener: bytes both ways; send() arrives as pickle bytes`,
    ignore,
    async fn() {
      await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
      const [, port] = listener.address as [string, number];
      const py = runPython(python!, CLIENT, [String(port), "abc"]);
      using conn = await listener.accept();
      for (let i = 0; i < 3; i++) await conn.sendBytes(reversed(await conn.recvBytes()));
      const pickled = await conn.recv();
      assert.ok(pickled instanceof Uint8Array && pickled[0] === 0x80, "a pickle, undecoded");
      assert.equal(await py.line(), "ok");
      await assert.rejects(conn.recv(), EOFError);
      await py.end();
    },
  });

  Deno.test({
    name: `Python ${version} Client, Deno Listener: a wrong authkey is refused on both sides`,
    ignore,
    async fn() {
      await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
      const [, port] = listener.address as [string, number];
      const py = runPython(python!, CLIENT, [String(port), "wrong"]);
      await assert.rejects(listener.accept(), AuthenticationError);
      assert.equal(await py.line(), "AuthenticationError");
      await py.end();
    },
  });
}

Deno.test({
  name: "Python Listener with authkey b'', Deno Client with authkey '': neither asks for a key",
  ignore: !anyPython,
  async fn() {
    const py = runPython(anyPython!, SERVER, [""]);
    const port = Number(await py.line());
    using conn = await Client(["127.0.0.1", port], { authkey: "", handshakeTimeout: 5000 });
    const sending = conn.sendBytes(new TextEncoder().encode("abc"));
    assert.deepEqual(await conn.recvBytes(), new TextEncoder().encode("cba"));
    await sending;
    conn.close();
    assert.equal(await py.line(), "served");
    await py.end();
  },
});

// Python's multiprocessing.connection on a socket, byte for byte: the frame
// of a message, and the authkey handshake.
//
// A frame is a 4-byte big-endian signed length, then the bytes; a message
// longer than 2^31 - 1 bytes has -1 there, then an 8-byte big-endian
// unsigned length. (Python's send_bytes writes the header and a short
// payload in one write, against Nagle's delay; so does ours.)
//
// The handshake, after Python 3.12's deliver_challenge and answer_challenge:
// the side that delivers sends b"#CHALLENGE#" + a message, the other answers
// with an HMAC of the message keyed by the authkey, and the first replies
// b"#WELCOME#" or b"#FAILURE#". A Listener delivers then answers; a Client
// answers then delivers. Two forms of the message and answer exist:
// - Python 3.11 and earlier: the message is 20 random bytes and the answer
//   the raw 16-byte HMAC-MD5.
// - Python 3.12 and later: the message is b"{sha256}" + 40 random bytes and
//   the answer b"{sha256}" + the HMAC-SHA256 of the whole message. A server
//   still takes a raw 16-byte answer as HMAC-MD5 of its message, which is
//   how a 3.11 client answers a 3.12 challenge.
// Ours delivers the 3.12 form (which both kinds of client answer) and answers
// either form. Every message of the handshake is at most 256 bytes, as in
// Python: a longer one is refused before its bytes are read.

import type * as NodeCrypto from "node:crypto";
import { AuthenticationError } from "./errors.ts";
import { describeValue } from "./_timeout.ts";

/** Largest length of a 4-byte header. */
export const MAX_SHORT_FRAME = 0x7fffffff;

/** The header of a frame of `size` bytes (4 bytes, or 12 beyond 2^31 - 1). */
export function frameHeader(size: number): Uint8Array {
  if (size <= MAX_SHORT_FRAME) {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setInt32(0, size);
    return header;
  }
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setInt32(0, -1);
  view.setBigUint64(4, BigInt(size));
  return header;
}

/** Writes the header of a frame of `size` bytes at `at` of `into`; returns its length. */
export function writeFrameHeader(into: Uint8Array, at: number, size: number): number {
  const header = frameHeader(size);
  into.set(header, at);
  return header.length;
}

/** A parsed frame header: the message length and the header's own length. */
export interface FrameHeader {
  size: number;
  headerBytes: number;
}

/** Thrown for a header no Python connection writes (a length below -1, or past 2^53). */
export class BadFrame extends Error {}

/**
 * Parses the header at `start` of `bytes` (which holds data up to `end`):
 * undefined while it is incomplete.
 *
 * @throws {BadFrame} For a length no sender writes.
 */
export function parseFrameHeader(
  bytes: Uint8Array,
  start: number,
  end: number,
): FrameHeader | undefined {
  if (end - start < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  const short = view.getInt32(0);
  if (short >= 0) return { size: short, headerBytes: 4 };
  if (short !== -1) throw new BadFrame(`a frame header with the length ${short}`);
  if (end - start < 12) return undefined;
  const long = view.getBigUint64(4);
  if (long > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BadFrame(`a frame header with the length ${long}`);
  }
  return { size: Number(long), headerBytes: 12 };
}

// ---- the handshake ----

/** What the handshake needs of a connection. */
export interface HandshakeIO {
  sendBytes(bytes: Uint8Array): Promise<void>;
  /** Receives one message of at most `maxlength` bytes (a longer one is a RangeError, unread). */
  recvBytes(maxlength: number): Promise<Uint8Array>;
}

const encoder = new TextEncoder();
const CHALLENGE = encoder.encode("#CHALLENGE#");
const WELCOME = encoder.encode("#WELCOME#");
const FAILURE = encoder.encode("#FAILURE#");
/** The longest message of the handshake, as Python reads it. */
const HANDSHAKE_MAX = 256;
/** Random bytes in a challenge: 40 in Python 3.12+, 20 in 3.11 and before. */
const MESSAGE_LENGTH = 40;
const LEGACY_MESSAGE_LENGTH = 20;
const MD5_LENGTH = 16;
/** Python's digest names, and node:crypto's for them. */
const DIGESTS: Record<string, string> = {
  md5: "md5",
  sha256: "sha256",
  sha384: "sha384",
  sha3_256: "sha3-256",
  sha3_384: "sha3-384",
};

/** The key as bytes (a string is its UTF-8, as Python's b"..." of ASCII text). */
export function authkeyBytes(authkey: string | Uint8Array): Uint8Array {
  return typeof authkey === "string" ? encoder.encode(authkey) : authkey;
}

/**
 * An `authkey` option, checked: its bytes, or undefined for none. An empty
 * key is none, as Python's Listener takes `b""` (`if self._authkey:`): a
 * key anyone can compute an HMAC with protects nothing.
 *
 * @throws {TypeError} For a value that is neither a string nor a Uint8Array.
 */
export function checkAuthkey(authkey: unknown, action: string): Uint8Array | undefined {
  if (authkey === undefined || authkey === null) return undefined;
  if (typeof authkey !== "string" && !(authkey instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot ${action}: 'authkey' must be a string or a Uint8Array, received ${
        describeValue(authkey)
      }`,
    );
  }
  const bytes = authkeyBytes(authkey);
  return bytes.length > 0 ? bytes : undefined;
}

let nodeCrypto: Promise<typeof NodeCrypto> | undefined;

/**
 * node:crypto, loaded on the first handshake: importing it costs ~16 ms, and
 * every program that imports the package (each worker imports the main
 * module, which imports the package) would pay it at start-up otherwise.
 */
function loadCrypto(): Promise<typeof NodeCrypto> {
  nodeCrypto ??= import("node:crypto");
  return nodeCrypto;
}

async function hmac(digest: string, key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const { createHmac } = await loadCrypto();
  return new Uint8Array(createHmac(DIGESTS[digest], key).update(message).digest());
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWith(a, b);
}

/**
 * Splits a challenge or an answer into its digest name and payload: "" for
 * the legacy form (16 or 20 bytes, no prefix, HMAC-MD5), else the name in
 * its "{name}" prefix.
 */
function digestAndPayload(message: Uint8Array): [digest: string, payload: Uint8Array] {
  if (message.length === LEGACY_MESSAGE_LENGTH || message.length === MD5_LENGTH) {
    return ["", message];
  }
  if (message[0] === 0x7b /* { */) {
    const close = message.indexOf(0x7d, /* } */ 1);
    if (close > 1 && close <= 10) {
      const name = new TextDecoder().decode(message.subarray(1, close));
      if (Object.hasOwn(DIGESTS, name)) return [name, message.subarray(close + 1)];
    }
  }
  throw new AuthenticationError(
    `Cannot authenticate: the peer's message (${message.length} bytes) has neither the legacy ` +
      "length nor a {digest} prefix this side knows (md5, sha256, sha384, sha3_256, sha3_384)",
  );
}

/** Receives one message of the handshake, refusing a long one unread. */
async function recvShort(io: HandshakeIO, what: string): Promise<Uint8Array> {
  try {
    return await io.recvBytes(HANDSHAKE_MAX);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new AuthenticationError(
        `Cannot authenticate: the peer sent ${what} longer than ${HANDSHAKE_MAX} bytes ` +
          "(is it a multiprocessing Listener or Client with an authkey?)",
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Sends a challenge and checks the answer (Python's deliver_challenge, 3.12
 * form: a 3.11 peer answers it with HMAC-MD5, which is accepted).
 *
 * @throws {AuthenticationError} When the answer is wrong (the peer is told #FAILURE#).
 */
export async function deliverChallenge(io: HandshakeIO, key: Uint8Array): Promise<void> {
  const { timingSafeEqual } = await loadCrypto();
  const message = concat(
    encoder.encode("{sha256}"),
    crypto.getRandomValues(new Uint8Array(MESSAGE_LENGTH)),
  );
  await io.sendBytes(concat(CHALLENGE, message));
  const response = await recvShort(io, "an answer");
  let ok = false;
  try {
    const [digest, mac] = digestAndPayload(response);
    const expected = await hmac(digest || "md5", key, message);
    ok = expected.length === mac.length && timingSafeEqual(expected, mac);
  } catch {
    ok = false;
  }
  if (!ok) {
    await io.sendBytes(FAILURE).catch(() => {});
    throw new AuthenticationError(
      "Cannot authenticate the peer: the digest it sent is wrong (its authkey differs)",
    );
  }
  await io.sendBytes(WELCOME);
}

/**
 * Answers the peer's challenge (Python's answer_challenge, either form).
 *
 * @throws {AuthenticationError} When the peer sends no challenge, or rejects the answer.
 */
export async function answerChallenge(io: HandshakeIO, key: Uint8Array): Promise<void> {
  const challenge = await recvShort(io, "a challenge");
  if (!startsWith(challenge, CHALLENGE)) {
    throw new AuthenticationError(
      "Cannot authenticate: the peer sent no challenge (does it have an authkey?)",
    );
  }
  const message = challenge.subarray(CHALLENGE.length);
  if (message.length < LEGACY_MESSAGE_LENGTH) {
    throw new AuthenticationError(
      `Cannot authenticate: the peer's challenge is too short (${message.length} bytes)`,
    );
  }
  const [digest] = digestAndPayload(message);
  const answer = digest === ""
    ? await hmac("md5", key, message)
    : concat(encoder.encode(`{${digest}}`), await hmac(digest, key, message));
  await io.sendBytes(answer);
  const verdict = await recvShort(io, "a verdict");
  if (!equal(verdict, WELCOME)) {
    throw new AuthenticationError(
      "Cannot authenticate: the peer rejected the digest sent (the authkeys differ)",
    );
  }
}

/**
 * Handshakes a Listener runs at once: a connection beyond it drops the
 * oldest one still under way (changed by tests only).
 */
export const HANDSHAKE_LIMITS = { pending: 1024 };

/** The bytes of the handshake's fixed messages, for tests. */
export const HANDSHAKE = { CHALLENGE, WELCOME, FAILURE, MAX: HANDSHAKE_MAX };

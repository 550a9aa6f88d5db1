// A Connection over a socket (TCP or Unix), framed as Python's
// multiprocessing.connection frames messages (_python_wire.ts).
//
// Reading: one buffer, filled by at most one read at a time, started when a
// receive or a poll needs bytes (so an idle connection reads nothing, and
// the kernel's buffer holds back a fast sender, as in Python). Frames are
// cut from the buffer; a large frame's buffer is handed out without a copy.
// A frame's buffer grows with the bytes that arrive (it at most doubles
// them, up to the frame's size), never with the length its header claims: a
// peer cannot make this side allocate memory it did not send.
//
// Writing: a send copies its message into one buffer (header + payload, one
// write as Python does for short messages), and writes go out in order;
// messages sent while a write is under way leave together in the next one.

import { BadFrame, MAX_SHORT_FRAME, parseFrameHeader, writeFrameHeader } from "./_python_wire.ts";
import { decodeFromSocket, encodeForSocket, fromFrame, toFrame } from "./_item_codec.ts";
import type { SharedReduction } from "./_shared_registry.ts";
import type { Transport } from "./_transport.ts";
import { after } from "./_timeout.ts";
import { EOFError } from "./errors.ts";

/**
 * The first bytes of a message written by `send()`: this package's codec
 * follows. (Python's pickles start with 0x80; a `sendBytes` message that
 * happens to start with these bytes is read by `recv()` as a value.)
 */
export const VALUE_MAGIC: Uint8Array = new Uint8Array([0xd3, 0x6d, 0x70, 0x01]);

const INITIAL_BUFFER = 64 * 1024;
/** Room kept for a read. */
const MIN_READ = 16 * 1024;
/** The write buffer: messages sent while a write is under way gather here. */
const OUT_BUFFER = 64 * 1024;

/** The messages of one write, which settle together. */
interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

const noop = () => {};

/**
 * A new batch. Awaiting its promise is optional (a Pipe's send never waits):
 * a failure is also thrown by the next send, and a receive sees the peer gone.
 */
function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const done = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  done.catch(noop);
  return { done, resolve, reject };
}

/** Reads a message written by `send()` (see {@linkcode isValueMessage}). */
function decodeValueMessage(payload: Uint8Array): unknown {
  try {
    return decodeFromSocket(fromFrame(payload.subarray(VALUE_MAGIC.length)));
  } catch (error) {
    throw new TypeError(
      `Cannot recv: a value message of ${payload.length} bytes is malformed (${
        (error as Error).message
      })`,
      { cause: error },
    );
  }
}

/** Whether `payload` is a message written by `send()`. */
function isValueMessage(payload: Uint8Array): boolean {
  for (let i = 0; i < VALUE_MAGIC.length; i++) {
    if (payload[i] !== VALUE_MAGIC[i]) return false;
  }
  return true;
}

/** One end of a socket connection. */
export class SocketTransport implements Transport {
  readonly readable = true;
  readonly writable = true;
  #conn: Deno.Conn;
  /** The peer, for messages: "127.0.0.1:5000" or a socket path. */
  readonly peer: string;

  #buf = new Uint8Array(INITIAL_BUFFER);
  #start = 0;
  #end = 0;
  /** The read under way, if any. */
  #reading: Promise<void> | undefined;
  /** The peer closed its side: nothing more will come. */
  #eof = false;
  /** Why nothing more can be read (a failed read, a bad frame, or close()). */
  #readFailure: string | undefined;
  #readCause: unknown;
  /** Receives waiting for bytes: a new receive does not overtake them. */
  #waiting = 0;

  /** Messages framed and waiting for the next write. */
  #out: Uint8Array<ArrayBuffer> = new Uint8Array(OUT_BUFFER);
  #outLength = 0;
  /** The other buffer, free while #out fills. */
  #spare: Uint8Array<ArrayBuffer> | undefined;
  /** The messages in #out settle together. */
  #batch: Batch | undefined;
  #flushQueued = false;
  #writing = false;
  #writeFailure: Error | undefined;
  #closed = false;
  #socketClosed = false;

  constructor(conn: Deno.Conn, peer: string) {
    this.#conn = conn;
    this.peer = peer;
    if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
  }

  // ---- sending ----

  send(value: unknown): Promise<void> {
    const parts = toFrame(encodeForSocket(value));
    return this.#append([VALUE_MAGIC, ...parts]);
  }

  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.#append([bytes]);
  }

  /**
   * Frames a message into the write buffer (copying it), and makes sure a
   * write takes it: messages sent in one turn of the event loop leave in
   * one write.
   */
  #append(parts: Uint8Array[]): Promise<void> {
    if (this.#writeFailure) throw this.#writeFailure;
    let size = 0;
    for (const part of parts) size += part.length;
    const needed = this.#outLength + (size > MAX_SHORT_FRAME ? 12 : 4) + size;
    if (needed > this.#out.length) {
      const grown = new Uint8Array(Math.max(needed, this.#out.length * 2));
      grown.set(this.#out.subarray(0, this.#outLength));
      this.#out = grown;
    }
    let at = this.#outLength + writeFrameHeader(this.#out, this.#outLength, size);
    for (const part of parts) {
      this.#out.set(part, at);
      at += part.length;
    }
    this.#outLength = at;
    this.#batch ??= newBatch();
    if (!this.#writing && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    }
    return this.#batch.done;
  }

  #flushSoon = (): void => {
    this.#flushQueued = false;
    if (!this.#writing) this.#flush();
  };

  /** Writes the buffer out, and what is appended meanwhile, until nothing is left. */
  async #flush(): Promise<void> {
    this.#writing = true;
    let batch: Batch | undefined;
    try {
      while (this.#outLength > 0) {
        const buffer = this.#out;
        const bytes = buffer.subarray(0, this.#outLength);
        batch = this.#batch!;
        // New messages go to the spare buffer while this one is written.
        this.#out = this.#spare ?? new Uint8Array(OUT_BUFFER);
        this.#spare = undefined;
        this.#outLength = 0;
        this.#batch = undefined;
        for (let at = 0; at < bytes.length;) {
          at += await this.#conn.write(at === 0 ? bytes : bytes.subarray(at));
        }
        if (buffer.length === OUT_BUFFER) this.#spare = buffer;
        batch.resolve();
        batch = undefined;
      }
    } catch (error) {
      this.#writeFailure = new Error(
        `Cannot send: ${this.#closed ? "the connection is closed" : describeIoError(error)}`,
        { cause: error },
      );
      batch?.reject(this.#writeFailure);
      this.#batch?.reject(this.#writeFailure);
      this.#batch = undefined;
      this.#outLength = 0;
    } finally {
      this.#writing = false;
      if (this.#closed) this.#closeSocket();
    }
  }

  // ---- receiving ----

  recv(): Promise<unknown> {
    // Fast path without an async frame: a message is often buffered already.
    if (this.#waiting === 0) {
      try {
        const payload = this.#takeFrame(undefined);
        if (payload) {
          return Promise.resolve(isValueMessage(payload) ? decodeValueMessage(payload) : payload);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#nextFrame(undefined, "recv").then((payload) =>
      isValueMessage(payload) ? decodeValueMessage(payload) : payload
    );
  }

  recvBytes(maxlength: number | undefined): Promise<Uint8Array> {
    if (this.#waiting === 0) {
      try {
        const payload = this.#takeFrame(maxlength, "recvBytes");
        if (payload) return Promise.resolve(payload);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#nextFrame(maxlength, "recvBytes");
  }

  async poll(ms: number | undefined): Promise<boolean> {
    if (this.#hasInput()) return true;
    const filled = this.#fill();
    let cancel = noop;
    const timedOut = ms === undefined
      ? new Promise<void>(noop)
      : new Promise<void>((resolve) => cancel = after(ms, resolve));
    try {
      await Promise.race([filled, timedOut]);
    } finally {
      cancel();
    }
    return this.#hasInput();
  }

  /** Bytes, end-of-file or a failure to report: a receive would not wait for the peer. */
  #hasInput(): boolean {
    return this.#start < this.#end || this.#eof || this.#readFailure !== undefined;
  }

  async #nextFrame(maxlength: number | undefined, action = "recv"): Promise<Uint8Array> {
    this.#waiting++;
    try {
      for (;;) {
        // The buffer only moves while no read is under way.
        if (this.#reading) {
          await this.#reading;
          continue;
        }
        const payload = this.#takeFrame(maxlength, action);
        if (payload) return payload;
        this.#checkEnded(action);
        await this.#fill();
      }
    } finally {
      this.#waiting--;
    }
  }

  /** Throws when no more bytes can come. */
  #checkEnded(action: string): void {
    if (this.#readFailure !== undefined) {
      throw new Error(`Cannot ${action}: ${this.#readFailure}`, { cause: this.#readCause });
    }
    if (!this.#eof) return;
    const buffered = this.#end - this.#start;
    if (buffered === 0) {
      throw new EOFError(`Cannot ${action}: the peer (${this.peer}) closed the connection`);
    }
    throw new Error(
      `Cannot ${action}: the connection ended in the middle of a message (${buffered} bytes of ` +
        "it arrived): the peer closed it or went away",
    );
  }

  /**
   * Takes the next complete frame off the buffer, or returns undefined.
   *
   * @throws {RangeError} When it is longer than `maxlength` (it stays).
   */
  #takeFrame(maxlength: number | undefined, action = "recv"): Uint8Array | undefined {
    const start = this.#start;
    const end = this.#end;
    if (this.#readFailure !== undefined && start === end) return undefined;
    let header;
    try {
      header = parseFrameHeader(this.#buf, start, end);
    } catch (error) {
      if (!(error instanceof BadFrame)) throw error;
      this.#failRead(
        `the peer sent ${error.message}, which no multiprocessing connection writes ` +
          "(the connection is closed for reading)",
        error,
      );
      this.#start = this.#end;
      throw new Error(`Cannot ${action}: ${this.#readFailure}`, { cause: error });
    }
    if (!header) return undefined;
    const { size, headerBytes } = header;
    if (maxlength !== undefined && size > maxlength) {
      throw new RangeError(
        `Cannot ${action}: the message has ${size} bytes, more than maxlength ${maxlength}`,
      );
    }
    const frameEnd = start + headerBytes + size;
    if (frameEnd > end) return undefined;
    let payload: Uint8Array;
    if (size >= this.#buf.length / 2 && size >= MIN_READ && !this.#reading) {
      // A big frame that (nearly) fills its buffer: hand the buffer over.
      payload = this.#buf.subarray(start + headerBytes, frameEnd);
      const rest = this.#buf.subarray(frameEnd, end);
      this.#buf = new Uint8Array(Math.max(INITIAL_BUFFER, rest.length));
      this.#buf.set(rest);
      this.#start = 0;
      this.#end = rest.length;
      return payload;
    }
    payload = this.#buf.slice(start + headerBytes, frameEnd);
    this.#start = frameEnd;
    if (this.#start === this.#end && !this.#reading) this.#start = this.#end = 0;
    return payload;
  }

  /** Starts a read unless one is under way or the stream has ended; resolves when it is done. */
  #fill(): Promise<void> {
    if (this.#reading) return this.#reading;
    if (this.#eof || this.#readFailure !== undefined) return Promise.resolve();
    this.#makeRoom();
    const at = this.#end;
    this.#reading = this.#conn.read(this.#buf.subarray(at)).then(
      (n) => {
        this.#reading = undefined;
        if (n === null) this.#eof = true;
        else this.#end = at + n;
      },
      (error) => {
        this.#reading = undefined;
        this.#failRead(
          this.#closed ? "the connection is closed" : describeIoError(error),
          error,
        );
      },
    );
    return this.#reading;
  }

  /** Makes room after #end for the next read (no read is under way). */
  #makeRoom(): void {
    const buffered = this.#end - this.#start;
    let want = MIN_READ;
    let header;
    try {
      header = parseFrameHeader(this.#buf, this.#start, this.#end);
    } catch {
      // Reported by the next #takeFrame.
    }
    if (header) {
      // Room for the rest of the frame, but at most the bytes buffered (the initial
      // buffer's size for a header alone): the buffer grows with what arrives.
      const missing = header.headerBytes + header.size - buffered;
      want = Math.max(want, Math.min(missing, Math.max(buffered, INITIAL_BUFFER)));
    }
    if (this.#buf.length - this.#end >= want) return;
    if (this.#start > 0 && this.#buf.length - buffered >= want) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(INITIAL_BUFFER, buffered + want));
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = buffered;
  }

  #failRead(reason: string, cause: unknown): void {
    if (this.#readFailure === undefined) {
      this.#readFailure = reason;
      this.#readCause = cause;
    }
  }

  // ---- closing ----

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failRead("the connection is closed", undefined);
    this.#start = this.#end;
    // What was sent still goes out: the socket closes once it has.
    if (!this.#writing && this.#outLength === 0) this.#closeSocket();
  }

  /** Whether the socket itself is closed. */
  get socketClosed(): boolean {
    return this.#socketClosed;
  }

  #closeSocket(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  share(): SharedReduction {
    throw new Error(
      "Cannot send a socket Connection to another thread: a socket belongs to the thread that " +
        "opened it; open a Client in that thread instead",
    );
  }
}

/** A failed read or write, in words. */
export function describeIoError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionReset) return "the peer reset the connection";
  if (error instanceof Deno.errors.BrokenPipe) return "the peer closed the connection";
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
    return "the connection is closed";
  }
  return `the connection failed (${(error as Error)?.message ?? String(error)})`;
}

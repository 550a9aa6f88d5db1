/**
 * `Pipe` and `Connection`: Python's `multiprocessing.Pipe`, two connected
 * ends that send and receive messages (any structured-cloneable value) or raw
 * bytes between threads, through shared memory. A `Connection` from a
 * `Listener` or `Client` (see `./listener.ts`) is the same class, over a
 * socket.
 *
 * @module
 */
import { type EndState, newPipe, PipeTransport } from "./_pipe_transport.ts";
import { dropReference } from "./_pipe_transport.ts";
import {
  adoptHandle,
  onProcessEnd,
  registerShareable,
  SHARE,
  type SharedReduction,
} from "./_shared_registry.ts";
import { takeTransport, type Transport, withTransport } from "./_transport.ts";
import { checkOptions } from "./_options.ts";
import { describeValue, timeoutMs } from "./_timeout.ts";
import { BufferTooShort } from "./errors.ts";

const DROP = Symbol("drop reference");

/** Handles that arrived from other threads, closed when a Process ends. */
const revived = new Set<Connection>();

/** A Connection on a pipe end: a new end (no id) or one revived in this thread. */
function make(state: EndState, id?: number): Connection {
  const transport = new PipeTransport(state, id);
  const connection = withTransport(Connection, transport);
  if (id === undefined) adoptHandle(connection, transport.id);
  else revived.add(connection);
  return connection;
}

// A Process's handles close when its target ends, as its file descriptors
// would when it exits.
onProcessEnd(() => {
  for (const connection of revived) connection.close();
  revived.clear();
});

/**
 * Options of {@linkcode Pipe}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe, type PipeOptions } from "./connection.ts";
 * const oneWay: PipeOptions = { duplex: false };
 * const [reader, writer] = Pipe(oneWay);
 * writer.send("hi");
 * assert.equal(await reader.recv(), "hi");
 * assert.throws(() => reader.send("back"), /can only receive/);
 * ```
 */
export interface PipeOptions {
  /**
   * Both ends send and receive; `false` makes the first end receive only and
   * the second send only.
   * @default {true}
   */
  duplex?: boolean;
}

/**
 * One end of a {@linkcode Pipe}, or a connection from a `Listener` or
 * `Client` over a socket: the same methods either way.
 *
 * A pipe's end can be handed to tasks and Processes; each thread's handle is
 * closed on its own, and the peer sees end-of-file once every handle of this
 * end is closed (a Process's handles close when it ends, as its file
 * descriptors would) and every message sent has been read. A socket
 * connection stays in the thread that opened it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe } from "./connection.ts";
 * const [a, b] = Pipe();
 * a.send({ hello: "world" });
 * assert.ok((await b.recv<{ hello: string }>()).hello === "world");
 * a.close();
 * assert.ok(await b.poll()); // readable: end-of-file is waiting
 * ```
 */
export class Connection {
  #transport: Transport;
  #closed = false;
  // Fixed for the life of the end; read on every call, so kept here.
  #readable: boolean;
  #writable: boolean;

  /**
   * Connections come from {@linkcode Pipe}, `Listener.accept()` and `Client()`.
   *
   * @throws {TypeError} When called directly.
   */
  constructor() {
    const transport = takeTransport();
    if (!transport) {
      throw new TypeError("Cannot construct a Connection directly: use Pipe() or Client()");
    }
    this.#transport = transport;
    this.#readable = transport.readable;
    this.#writable = transport.writable;
  }

  /** Whether this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this end can receive. */
  get readable(): boolean {
    return this.#readable;
  }

  /** Whether this end can send. */
  get writable(): boolean {
    return this.#writable;
  }

  /**
   * Sends `value` to the other end. On a pipe it never waits (the pipe grows
   * as needed). On a socket the message is copied at once and written in the
   * background, in order; the promise settles when the OS took it, so
   * awaiting it slows a sender to the network's pace, and not awaiting it is
   * fine too (a failed write also fails the next send).
   *
   * @param value Any structured-cloneable value (over a socket, no shared objects).
   * @returns A promise that resolves once the message is handed on (at once on a pipe).
   * @throws {TypeError} When the value cannot be cloned; nothing is sent.
   * @throws {Error} When this end is closed or receive-only, or the other end is closed.
   */
  send(value: unknown): Promise<void> {
    if (this.#closed || !this.#writable) throw this.#refusal("send", "writable");
    return this.#transport.send(value);
  }

  /**
   * Sends bytes as one message (Python's `send_bytes`): on a socket, framed
   * exactly as Python frames it, so a Python `recv_bytes()` gets them.
   *
   * @param data The bytes (or any ArrayBuffer view); copied before this returns.
   * @param offset First byte to send, counted in bytes of `data`.
   * @param size Bytes to send; the rest of `data` when omitted.
   * @returns A promise that resolves once the message is handed on (see `send`).
   * @throws {RangeError} When `offset`/`size` fall outside `data`.
   */
  sendBytes(data: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): Promise<void> {
    if (this.#closed || !this.#writable) throw this.#refusal("sendBytes", "writable");
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const length = size ?? bytes.length - offset;
    if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
      throw new RangeError(
        `Cannot sendBytes: 'offset' ${offset} is outside the ${bytes.length} bytes`,
      );
    }
    if (!Number.isInteger(length) || length < 0 || offset + length > bytes.length) {
      throw new RangeError(
        `Cannot sendBytes: 'size' ${size} from offset ${offset} exceeds the ${bytes.length} bytes`,
      );
    }
    return this.#transport.sendBytes(bytes.subarray(offset, offset + length));
  }

  /**
   * Receives the next message, waiting for one.
   *
   * @returns The value sent (a `sendBytes` message comes back as a Uint8Array).
   * @throws {EOFError} When the other end is closed and everything sent was read.
   * @throws {Error} When the connection failed (a socket's peer vanished mid-message).
   */
  recv<T = unknown>(): Promise<T> {
    if (this.#closed || !this.#readable) {
      return Promise.reject(this.#refusal("recv", "readable"));
    }
    return this.#transport.recv() as Promise<T>;
  }

  /**
   * Receives the next message as bytes (Python's `recv_bytes`).
   *
   * @param maxlength The largest message accepted: an integer >= 0, or undefined for any.
   * @returns The bytes.
   * @throws {RangeError} When the message is longer than `maxlength` (it stays unread), or
   *   `maxlength` is negative, NaN or not an integer.
   * @throws {TypeError} When `maxlength` is not a number.
   * @throws {EOFError} When the other end is closed and everything sent was read.
   */
  recvBytes(maxlength?: number): Promise<Uint8Array> {
    try {
      if (this.#closed || !this.#readable) throw this.#refusal("recvBytes", "readable");
      if (maxlength !== undefined && typeof maxlength !== "number") {
        throw new TypeError(
          `Cannot recvBytes: 'maxlength' must be a number, received ${describeValue(maxlength)}`,
        );
      }
      if (maxlength !== undefined && !(Number.isInteger(maxlength) && maxlength >= 0)) {
        throw new RangeError(
          `Cannot recvBytes: 'maxlength' must be an integer >= 0, received ${maxlength}`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#transport.recvBytes(maxlength);
  }

  /**
   * Receives the next message into `buffer` at byte `offset` (Python's
   * `recv_bytes_into`).
   *
   * @param buffer Where the bytes go (any ArrayBuffer view, or an ArrayBuffer).
   * @param offset The first byte of `buffer` to write, counted in bytes.
   * @returns The number of bytes of the message.
   * @throws {BufferTooShort} When the message does not fit; it is taken off the connection
   *   all the same and is in the error's `bytes`.
   * @throws {RangeError} When `offset` is negative or past the end of `buffer`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pipe } from "./connection.ts";
   * import { BufferTooShort } from "./errors.ts";
   * const [a, b] = Pipe();
   * a.sendBytes(new Uint8Array([1, 2, 3]));
   * const into = new Uint8Array(5);
   * assert.equal(await b.recvBytesInto(into, 2), 3);
   * assert.deepEqual([...into], [0, 0, 1, 2, 3]);
   * a.sendBytes(new Uint8Array(6));
   * await assert.rejects(b.recvBytesInto(into), BufferTooShort);
   * ```
   */
  async recvBytesInto(buffer: ArrayBufferView | ArrayBuffer, offset = 0): Promise<number> {
    if (this.#closed || !this.#readable) throw this.#refusal("recvBytesInto", "readable");
    const target = buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
      throw new RangeError(
        `Cannot recvBytesInto: 'offset' ${offset} is outside the ${target.length} bytes`,
      );
    }
    const bytes = await this.#transport.recvBytes(undefined);
    if (bytes.length > target.length - offset) {
      throw new BufferTooShort(
        `Cannot recvBytesInto: the message has ${bytes.length} bytes, and the buffer has room ` +
          `for ${target.length - offset} from offset ${offset}`,
        bytes,
      );
    }
    target.set(bytes, offset);
    return bytes.length;
  }

  /**
   * Whether there is something to read: a message (on a socket, the start of
   * one, as Python's `poll` tells), or end-of-file.
   *
   * @param timeout Milliseconds to wait for it: 0 (the default) checks at once; `null`
   *   (Python's None) and `Infinity` wait forever.
   * @returns true when `recv()` would not wait for the peer.
   * @throws {RangeError} When `timeout` is negative or NaN.
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    const ms = timeoutMs(timeout, "poll");
    if (this.#closed || !this.#readable) throw this.#refusal("poll", "readable");
    return await this.#transport.poll(ms);
  }

  /**
   * Closes this handle. On a pipe, the other end sees end-of-file once every
   * handle of this end is closed; on a socket, once what was sent has gone
   * out. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }

  /** Python spelling of {@linkcode Connection.sendBytes}. */
  send_bytes(data: ArrayBufferView | ArrayBuffer, offset?: number, size?: number): Promise<void> {
    return this.sendBytes(data, offset, size);
  }

  /** Python spelling of {@linkcode Connection.recvBytes}. */
  recv_bytes(maxlength?: number): Promise<Uint8Array> {
    return this.recvBytes(maxlength);
  }

  /** Python spelling of {@linkcode Connection.recvBytesInto}. */
  recv_bytes_into(buffer: ArrayBufferView | ArrayBuffer, offset?: number): Promise<number> {
    return this.recvBytesInto(buffer, offset);
  }

  /** `using conn = ...`: closes this handle. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Reduces a pipe's end to its shared state; the reduction carries one reference.
   * @ignore
   */
  [SHARE](): SharedReduction {
    if (this.#closed) throw new Error("Cannot send a closed connection to another thread");
    return this.#transport.share();
  }

  /**
   * Drops the reference a duplicate reduction carried.
   * @ignore
   */
  [DROP](): void {
    (this.#transport as PipeTransport).dropDuplicate();
  }

  /** Why `action` cannot be done: the handle is closed, or the end goes the other way. */
  #refusal(action: string, direction: "readable" | "writable"): Error {
    if (this.#closed) return new Error(`Cannot ${action}: the connection is closed`);
    return new Error(
      `Cannot ${action}: this end of a one-way pipe can only ${
        direction === "readable" ? "send" : "receive"
      }`,
    );
  }
}

/**
 * Makes a pipe: two connected ends (Python's `multiprocessing.Pipe`).
 *
 * @param options `duplex` (default true).
 * @returns `[a, b]`: with `duplex: false`, `a` receives only and `b` sends only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pipe } from "./connection.ts";
 * const [reader, writer] = Pipe({ duplex: false });
 * writer.sendBytes(new Uint8Array([1, 2, 3]));
 * assert.ok((await reader.recvBytes()).length === 3);
 * ```
 */
export function Pipe(options: PipeOptions = {}): [Connection, Connection] {
  checkOptions(options, ["duplex"], "create pipe");
  const [a, b] = newPipe(options.duplex ?? true);
  return [make(a), make(b)];
}

registerShareable(
  "Connection",
  (state, id) => make(state as EndState, id),
  (handle) => (handle as Connection)[DROP](),
  (state) => dropReference(state as EndState),
);

/**
 * Error classes that callers of this package catch.
 *
 * @module
 */

/**
 * A wait ran out of time: `AsyncResult.get(timeout)`, and later the queue and
 * lock timeouts. The awaited work keeps running.
 *
 * @example Catching a timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimeoutError } from "./errors.ts";
 * const err = new TimeoutError("Timed out after 10 ms");
 * assert.ok(err instanceof TimeoutError && err.name === "TimeoutError");
 * ```
 */
export class TimeoutError extends Error {
  /**
   * Creates a timeout error.
   *
   * @param message What timed out and after how long.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The stack trace of an error raised in a worker, kept as the `cause` of the
 * error re-thrown on the main thread (Python's `RemoteTraceback`). Its
 * `message` is the worker's stack text.
 *
 * @example Reading the remote stack
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteError } from "./errors.ts";
 * const remote = new RemoteError("Error: boom\n    at work (file:///tasks.ts:2:9)");
 * assert.ok(remote.message.includes("tasks.ts"));
 * ```
 */
export class RemoteError extends Error {
  /**
   * Wraps a worker's stack text.
   *
   * @param remoteStack The stack (or text) of the error as the worker saw it.
   */
  constructor(remoteStack: string) {
    super(remoteStack);
    this.name = "RemoteError";
    // The worker's stack is the useful one; the local frames of this
    // constructor would only point at the pool's internals.
    this.stack = remoteStack;
  }
}

/**
 * `Queue.get` found no item: the queue was empty for a non-blocking get, or
 * stayed empty until the timeout (Python's `queue.Empty`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Empty } from "./errors.ts";
 * assert.ok(new Empty("empty").name === "Empty");
 * ```
 */
export class Empty extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted.
   */
  constructor(message: string) {
    super(message);
    this.name = "Empty";
  }
}

/**
 * `Queue.put` found no room: the bounded queue was full for a non-blocking
 * put, or stayed full until the timeout (Python's `queue.Full`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Full } from "./errors.ts";
 * assert.ok(new Full("full").name === "Full");
 * ```
 */
export class Full extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted.
   */
  constructor(message: string) {
    super(message);
    this.name = "Full";
  }
}

/**
 * `Connection.recv` found the other end closed and nothing left to read
 * (Python's `EOFError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EOFError } from "./errors.ts";
 * assert.ok(new EOFError("closed").name === "EOFError");
 * ```
 */
export class EOFError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was attempted.
   */
  constructor(message: string) {
    super(message);
    this.name = "EOFError";
  }
}

/**
 * A `Barrier` was broken (aborted, reset, timed out, or its action threw)
 * while or before a thread waited on it (Python's
 * `threading.BrokenBarrierError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BrokenBarrierError } from "./errors.ts";
 * assert.ok(new BrokenBarrierError("broken").name === "BrokenBarrierError");
 * ```
 */
export class BrokenBarrierError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened.
   */
  constructor(message: string) {
    super(message);
    this.name = "BrokenBarrierError";
  }
}

/**
 * The authkey handshake of a `Listener` or `Client` failed: the peer's key
 * differs, it does not speak the handshake, or it sent nothing in time
 * (Python's `multiprocessing.AuthenticationError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuthenticationError } from "./errors.ts";
 * assert.ok(new AuthenticationError("digest received was wrong").name === "AuthenticationError");
 * ```
 */
export class AuthenticationError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthenticationError";
  }
}

/**
 * `Connection.recvBytesInto` got a message longer than the room in the
 * buffer (Python's `multiprocessing.BufferTooShort`). The message is taken
 * off the connection all the same: it is in `bytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BufferTooShort } from "./errors.ts";
 * const error = new BufferTooShort("no room", new Uint8Array([1, 2, 3]));
 * assert.ok(error.name === "BufferTooShort" && error.bytes.length === 3);
 * ```
 */
export class BufferTooShort extends Error {
  /** The whole message (Python's `e.args[0]`). */
  readonly bytes: Uint8Array;

  /**
   * Creates the error.
   *
   * @param message What was attempted.
   * @param bytes The message that did not fit.
   */
  constructor(message: string, bytes: Uint8Array) {
    super(message);
    this.name = "BufferTooShort";
    this.bytes = bytes;
  }
}

/**
 * `Listener` and `Client`: Python's `multiprocessing.connection` over TCP or
 * a Unix socket, with the same wire format and authkey handshake as Python
 * (3.11's HMAC-MD5 and 3.12's `{sha256}` forms), so a Deno program and a
 * Python one can connect to each other and exchange bytes.
 *
 * `sendBytes`/`recvBytes` carry bytes exactly as Python's `send_bytes`/
 * `recv_bytes` do. `send`/`recv` carry values in this package's own encoding
 * (Python's use pickle), so between Deno and Python exchange bytes.
 *
 * @example A Deno Listener and Client
 * ```ts
 * import assert from "node:assert/strict";
 * import { Client, Listener } from "./listener.ts";
 * await using listener = new Listener(["127.0.0.1", 0], { authkey: "secret password" });
 * const accepted = listener.accept();
 * using client = await Client(listener.address, { authkey: "secret password" });
 * using server = await accepted;
 * await client.send({ hello: [1, 2, 3] });
 * assert.deepEqual(await server.recv(), { hello: [1, 2, 3] });
 * await server.sendBytes(new TextEncoder().encode("bytes, as Python frames them"));
 * assert.equal(new TextDecoder().decode(await client.recvBytes()), "bytes, as Python frames them");
 * ```
 *
 * @module
 */
import { Connection } from "./connection.ts";
import {
  answerChallenge,
  checkAuthkey,
  deliverChallenge,
  HANDSHAKE_LIMITS,
} from "./_python_wire.ts";
import {
  describeAddress,
  publicAddress,
  resolveAddress,
  type ResolvedAddress,
  type SocketAddress,
} from "./_socket_address.ts";
import { describeIoError, SocketTransport } from "./_socket_transport.ts";
import { withTransport } from "./_transport.ts";
import { checkOptions } from "./_options.ts";
import { after, describeValue, timeoutMs } from "./_timeout.ts";
import { AuthenticationError } from "./errors.ts";

export type { SocketAddress } from "./_socket_address.ts";

/** Python's CONNECTION_TIMEOUT: a Client gives the listener this long for the handshake. */
const HANDSHAKE_TIMEOUT = 20_000;
/** A Listener gives a client this long: two round trips are all a handshake takes. */
const LISTENER_HANDSHAKE_TIMEOUT = 10_000;

/**
 * Options of {@linkcode Listener}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Listener, type ListenerOptions } from "./listener.ts";
 * const options: ListenerOptions = { authkey: "abc", handshakeTimeout: 5_000 };
 * using listener = new Listener(["127.0.0.1", 0], options);
 * assert.equal(listener.address[0], "127.0.0.1");
 * ```
 */
export interface ListenerOptions {
  /**
   * The shared secret every client must prove it knows (Python's `authkey`; a string is
   * taken as its UTF-8 bytes). Without one (an empty key is none, as in Python), any
   * process that can reach the address connects, so the host "" then means 127.0.0.1 only.
   */
  authkey?: string | Uint8Array | null;
  /**
   * Python's listen backlog. Accepted for compatibility: Deno listens with the system's
   * backlog.
   * @default {1}
   */
  backlog?: number;
  /**
   * Milliseconds a client has to go through the handshake before `accept()` fails with
   * an AuthenticationError for it.
   * @default {10000}
   */
  handshakeTimeout?: number;
}

/**
 * Options of {@linkcode Client}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Client, type ClientOptions, Listener } from "./listener.ts";
 * using listener = new Listener();
 * const options: ClientOptions = { authkey: null }; // this listener has none
 * using conn = await Client(listener.address, options);
 * assert.ok(conn.readable && conn.writable);
 * (await listener.accept()).close();
 * ```
 */
export interface ClientOptions {
  /**
   * The listener's authkey (a string is taken as its UTF-8 bytes). An empty key is none:
   * no handshake, as with a Python Listener whose authkey is `b""`.
   */
  authkey?: string | Uint8Array | null;
  /**
   * Milliseconds the listener has to go through the handshake.
   * @default {20000}
   */
  handshakeTimeout?: number;
}

/**
 * Goes through the handshake: a listener delivers a challenge then answers
 * the client's; a client answers then delivers. Any failure, a silence of
 * `ms`, or the peer leaving is an AuthenticationError.
 */
async function authenticate(
  transport: SocketTransport,
  key: Uint8Array,
  role: "listener" | "client",
  ms: number,
): Promise<void> {
  const io = {
    sendBytes: (bytes: Uint8Array) => transport.sendBytes(bytes),
    recvBytes: (maxlength: number) => transport.recvBytes(maxlength),
  };
  const steps = role === "listener"
    ? deliverChallenge(io, key).then(() => answerChallenge(io, key))
    : answerChallenge(io, key).then(() => deliverChallenge(io, key));
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = after(ms, () =>
      reject(
        new AuthenticationError(
          `Cannot authenticate ${transport.peer}: the handshake did not finish within ${ms} ms`,
        ),
      ));
  });
  try {
    await Promise.race([steps, timeout]);
  } catch (error) {
    transport.close();
    await steps.catch(() => {}); // the close ends it: no read is left behind
    if (error instanceof AuthenticationError) throw error;
    throw new AuthenticationError(
      `Cannot authenticate ${transport.peer}: the connection ended during the handshake ` +
        `(${(error as Error)?.message ?? describeValue(error)})`,
      { cause: error },
    );
  } finally {
    cancel();
  }
}

/**
 * `promise`, marked as handled: an accept() started before a client connects
 * is often awaited later, after other awaits, and its failure must not be
 * reported as unhandled meanwhile (awaiting it still throws).
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

type Accepted = { connection: Connection } | { error: unknown };

/**
 * A server socket that accepts connections (Python's
 * `multiprocessing.connection.Listener`).
 *
 * With an authkey, each client goes through Python's handshake before
 * `accept()` returns it; a client whose key differs makes `accept()` throw an
 * `AuthenticationError` (as in Python), and the next `accept()` goes on.
 * Every handshake runs at once, each with its own `handshakeTimeout` (10 s by
 * default), so clients that connect and stay silent do not hold up the
 * others; beyond 1024 handshakes under way, the oldest is dropped (its
 * `accept()` fails) to make room for the newest.
 *
 * Without an authkey (or with an empty one, as in Python), any process that
 * can reach the address may connect:
 * the host `""` then listens on 127.0.0.1 only (with an authkey, `""` means
 * every interface, as in Python). Give a host such as `"0.0.0.0"` to listen
 * on every interface without one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Client, Listener } from "./listener.ts";
 * import { AuthenticationError } from "./errors.ts";
 * await using listener = new Listener(["127.0.0.1", 0], { authkey: "right" });
 * const [server, client] = await Promise.allSettled([
 *   listener.accept(),
 *   Client(listener.address, { authkey: "wrong" }),
 * ]);
 * assert.ok(server.status === "rejected" && server.reason instanceof AuthenticationError);
 * assert.ok(client.status === "rejected" && client.reason instanceof AuthenticationError);
 * ```
 */
export class Listener implements AsyncDisposable, Disposable {
  #listener: Deno.Listener;
  #where: ResolvedAddress;
  #address: SocketAddress;
  #key: Uint8Array | undefined;
  #handshakeTimeout: number;
  #lastAccepted: SocketAddress | null = null;
  #waiters: { resolve: (c: Connection) => void; reject: (e: unknown) => void }[] = [];
  #ready: Accepted[] = [];
  #accepting = false;
  /** Handshakes under way, oldest first. */
  #handshakes = new Map<SocketTransport, Promise<void>>();
  /** Handshakes dropped to make room for newer ones. */
  #dropped = new Set<SocketTransport>();
  /** Every handshake not settled yet (dropped ones included), for asyncDispose. */
  #ending = new Set<Promise<void>>();
  #closed = false;

  /**
   * Binds and listens.
   *
   * @param address `[host, port]` (port 0: any free port; `address` tells which), or a Unix
   *   socket path. Default: `["127.0.0.1", 0]`.
   * @param options `authkey`, `backlog`, `handshakeTimeout`.
   * @throws {TypeError} For an address or option of the wrong type, or an unknown option.
   * @throws {RangeError} For a port outside 0..65535.
   * @throws {Error} When the address is in use (or the Unix socket path exists).
   */
  constructor(address?: SocketAddress, options: ListenerOptions = {}) {
    const action = "listen";
    checkOptions(options, ["authkey", "backlog", "handshakeTimeout"], action);
    this.#key = checkAuthkey(options.authkey, action);
    if (options.backlog !== undefined && !Number.isInteger(options.backlog)) {
      throw new TypeError(
        `Cannot listen: 'backlog' must be an integer, received ${describeValue(options.backlog)}`,
      );
    }
    this.#handshakeTimeout = timeoutMs(
      options.handshakeTimeout ?? LISTENER_HANDSHAKE_TIMEOUT,
      action,
      "handshakeTimeout",
    ) ?? Infinity;
    this.#where = resolveAddress(
      address ?? ["127.0.0.1", 0],
      action,
      true,
      this.#key !== undefined,
    );
    try {
      this.#listener = this.#where.transport === "tcp"
        ? Deno.listen({ hostname: this.#where.hostname, port: this.#where.port })
        : Deno.listen({ transport: "unix", path: this.#where.path });
    } catch (error) {
      const where = describeAddress(this.#where);
      if (error instanceof Deno.errors.AddrInUse) {
        throw new Error(
          this.#where.transport === "unix"
            ? `Cannot listen on ${where}: the path exists (a socket left by a server that ` +
              "ended, or another file); remove it if no server uses it"
            : `Cannot listen on ${where}: the address is in use (another server listens there)`,
          { cause: error },
        );
      }
      throw new Error(`Cannot listen on ${where}: ${(error as Error).message}`, { cause: error });
    }
    this.#address = publicAddress(this.#listener.addr);
  }

  /** Where it listens: `[host, port]` with the real port, or the Unix socket path. */
  get address(): SocketAddress {
    return Array.isArray(this.#address) ? [...this.#address] : this.#address;
  }

  /** The address of the last client accepted, or null (Python's `last_accepted`). */
  get lastAccepted(): SocketAddress | null {
    return this.#lastAccepted;
  }

  /** Python spelling of {@linkcode Listener.lastAccepted}. */
  get last_accepted(): SocketAddress | null {
    return this.#lastAccepted;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits for the next client (authenticated, with an authkey).
   *
   * @returns The connection to it.
   * @throws {AuthenticationError} For a client that failed the handshake (wrong key,
   *   silence past `handshakeTimeout`, or no handshake at all).
   * @throws {Error} When the listener is closed.
   */
  accept(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new Error("Cannot accept: the listener is closed"));
    const ready = this.#ready.shift();
    if (ready) {
      return "connection" in ready
        ? Promise.resolve(ready.connection)
        : handled(Promise.reject(ready.error));
    }
    return handled(
      new Promise((resolve, reject) => {
        this.#waiters.push({ resolve, reject });
        this.#acceptMore();
      }),
    );
  }

  /** Accepts sockets while someone waits, starting each one's handshake. */
  async #acceptMore(): Promise<void> {
    if (this.#accepting) return;
    this.#accepting = true;
    try {
      while (this.#waiters.length > 0 && !this.#closed) {
        let conn: Deno.Conn;
        try {
          conn = await this.#listener.accept();
        } catch (error) {
          if (this.#closed) return;
          this.#deliver({
            error: new Error(`Cannot accept: ${(error as Error).message}`, { cause: error }),
          });
          continue;
        }
        if (this.#closed) {
          conn.close();
          return;
        }
        this.#lastAccepted = publicAddress(conn.remoteAddr);
        this.#start(conn);
      }
    } finally {
      this.#accepting = false;
    }
  }

  #start(conn: Deno.Conn): void {
    const peer = this.#where.transport === "unix"
      ? `a client of ${this.#where.path}`
      : describeAddress(conn.remoteAddr);
    const transport = new SocketTransport(conn, peer);
    if (!this.#key) {
      this.#deliver({ connection: withTransport(Connection, transport) });
      return;
    }
    // Every handshake runs at once, with its own timeout; past the limit, the oldest
    // one under way makes room (a flood of silent peers cannot shut good clients out
    // for long: a handshake takes two round trips).
    if (this.#handshakes.size >= HANDSHAKE_LIMITS.pending) {
      const [oldest] = this.#handshakes.keys();
      this.#dropped.add(oldest);
      oldest.close();
      this.#handshakes.delete(oldest);
    }
    const handshake = authenticate(transport, this.#key, "listener", this.#handshakeTimeout)
      .then(
        () => this.#deliver({ connection: withTransport(Connection, transport) }),
        (error) =>
          this.#deliver({
            error: this.#dropped.delete(transport)
              ? new AuthenticationError(
                `Cannot authenticate ${transport.peer}: dropped, as ${HANDSHAKE_LIMITS.pending} ` +
                  "newer clients were going through the handshake",
                { cause: error },
              )
              : error,
          }),
      )
      .finally(() => {
        if (this.#handshakes.get(transport) === handshake) this.#handshakes.delete(transport);
        this.#ending.delete(handshake);
      });
    this.#handshakes.set(transport, handshake);
    this.#ending.add(handshake);
  }

  #deliver(result: Accepted): void {
    if (this.#closed) {
      if ("connection" in result) result.connection.close();
      return;
    }
    const waiter = this.#waiters.shift();
    if (!waiter) this.#ready.push(result);
    else if ("connection" in result) waiter.resolve(result.connection);
    else waiter.reject(result.error);
  }

  /**
   * Stops listening: waiting `accept()` calls fail, clients not yet accepted
   * are disconnected, and a Unix socket's file is removed. Connections
   * already accepted stay open.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new Error("Cannot accept: the listener was closed"));
    }
    for (const ready of this.#ready.splice(0)) {
      if ("connection" in ready) ready.connection.close();
    }
    for (const transport of this.#handshakes.keys()) transport.close();
    if (this.#where.transport === "unix") {
      try {
        Deno.removeSync(this.#where.path);
      } catch {
        // Gone already.
      }
    }
  }

  /** `await using listener = ...`: closes it and waits for handshakes under way to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await Promise.all(this.#ending);
  }

  /** `using listener = ...`: closes it. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Connects to a {@linkcode Listener} (Python's
 * `multiprocessing.connection.Client`), a Python one included, and goes
 * through its handshake when an authkey is given.
 *
 * @param address The listener's `[host, port]` or Unix socket path.
 * @param options `authkey`, `handshakeTimeout`.
 * @returns The connection.
 * @throws {AuthenticationError} When the handshake fails (the keys differ, or the listener
 *   has none and sends no challenge within `handshakeTimeout`).
 * @throws {Error} When nobody listens there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Client, Listener } from "./listener.ts";
 * await using listener = new Listener(["127.0.0.1", 0], { authkey: "abc" });
 * const serving = (async () => {
 *   using conn = await listener.accept();
 *   await conn.sendBytes(await conn.recvBytes()); // echo
 * })();
 * using conn = await Client(listener.address, { authkey: "abc" });
 * await conn.sendBytes(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await conn.recvBytes(), new Uint8Array([1, 2, 3]));
 * await serving;
 * ```
 */
export async function Client(
  address: SocketAddress,
  options: ClientOptions = {},
): Promise<Connection> {
  const action = "connect";
  checkOptions(options, ["authkey", "handshakeTimeout"], action);
  const key = checkAuthkey(options.authkey, action);
  const ms = timeoutMs(options.handshakeTimeout ?? HANDSHAKE_TIMEOUT, action, "handshakeTimeout") ??
    Infinity;
  const where = resolveAddress(address, action, false, false);
  let conn: Deno.Conn;
  try {
    conn = where.transport === "tcp"
      ? await Deno.connect({ hostname: where.hostname, port: where.port })
      : await Deno.connect({ transport: "unix", path: where.path });
  } catch (error) {
    const reason = error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.NotFound
      ? "nothing listens there (is the listener running?)"
      : describeIoError(error);
    throw new Error(`Cannot connect to ${describeAddress(where)}: ${reason}`, { cause: error });
  }
  const transport = new SocketTransport(conn, describeAddress(where));
  if (key) await authenticate(transport, key, "client", ms);
  return withTransport(Connection, transport);
}

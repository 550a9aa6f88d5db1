// The server of a BaseManager: it holds the objects its registered callables
// return and runs their methods for clients, over Python's framing and
// authkey handshake with this package's own messages (Python's manager
// protocol is pickle, which a Deno program cannot speak).
//
// A request is [op, id, ...]; the answer to it [id, ok, value], where a
// failure's value is the error as a record (_remote_error.ts). Calls run side
// by side: a queue's get() that waits does not hold up the connection, and
// answers go back as they come.
//   ["hello", id]                            -> { protocol, typeids }
//   ["create", id, typeid, args]             -> { object, exposed }
//   ["call", id, object, method, args]       -> the method's result (awaited;
//                                               undefined is answered [id, true])
//   ["release", 0, object]                   (no answer)
//   ["shutdown", id]                         -> null, then the server stops

import type { Connection } from "./connection.ts";
import { Listener } from "./listener.ts";
import type { SocketAddress } from "./_socket_address.ts";
import { toWireError } from "./_remote_error.ts";
import { describeValue } from "./_timeout.ts";
import { AuthenticationError } from "./errors.ts";

/** The version of the messages above; a client checks it in "hello". */
export const MANAGER_PROTOCOL = 1;

/** What the server knows of a registered typeid. */
export interface Registration {
  callable?: (...args: unknown[]) => unknown;
  /** The method names a proxy may call; undefined: every public method. */
  exposed?: string[];
}

interface Held {
  value: object;
  exposed: Set<string>;
  /** References from proxies, over every connection. */
  refs: number;
}

/**
 * Whether `fn` is a class, to be called with `new`: a class declaration or
 * expression, or a built-in constructor (native, with a prototype: Map, Set).
 */
export function isClass(fn: (...args: never[]) => unknown): boolean {
  const src = Function.prototype.toString.call(fn);
  if (/^class\b/.test(src)) return true;
  return src.endsWith("{ [native code] }") && Object.hasOwn(fn, "prototype");
}

/** The public methods of `value`: functions along its prototype chain, not starting with "_". */
export function publicMethods(value: object): string[] {
  const names = new Set<string>();
  for (
    let object: object | null = value;
    object && object !== Object.prototype && object !== Function.prototype;
    object = Object.getPrototypeOf(object)
  ) {
    for (const name of Object.getOwnPropertyNames(object)) {
      if (name === "constructor" || name.startsWith("_") || names.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(object, name);
      if (descriptor && typeof descriptor.value === "function") names.add(name);
    }
  }
  return [...names].sort();
}

/** A manager's server on a listening socket. */
export class ManagerServer {
  #listener: Listener;
  #registry: Map<string, Registration>;
  #objects = new Map<number, Held>();
  #nextObject = 1;
  #connections = new Set<Connection>();
  #stopped = false;
  #done!: () => void;
  #finished = new Promise<void>((resolve) => this.#done = resolve);
  #serving: Promise<void> | undefined;

  constructor(
    registry: Map<string, Registration>,
    address: SocketAddress | undefined,
    authkey: Uint8Array | undefined,
  ) {
    this.#registry = registry;
    this.#listener = new Listener(address ?? ["127.0.0.1", 0], { authkey });
  }

  get address(): SocketAddress {
    return this.#listener.address;
  }

  /** The number of objects held for clients. */
  get objectCount(): number {
    return this.#objects.size;
  }

  /** Serves until {@linkcode ManagerServer.stop} (or a client's "shutdown"). */
  serveForever(): Promise<void> {
    this.#serving ??= this.#acceptLoop();
    return this.#serving;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopped) {
      let conn: Connection;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        // A client with the wrong key (or none) is refused; the server goes on.
        if (error instanceof AuthenticationError) continue;
        if (this.#stopped) break;
        // Out of file descriptors, say: try again shortly rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.#serve(conn);
    }
    await this.#finished;
  }

  /** Stops: no more clients, and every connection closes. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#listener.close();
    for (const conn of this.#connections) conn.close();
    this.#connections.clear();
    this.#objects.clear();
    this.#done();
  }

  /** Reads a client's requests until it leaves; then lets go of what it held. */
  async #serve(conn: Connection): Promise<void> {
    this.#connections.add(conn);
    const held = new Map<number, number>();
    try {
      for (;;) {
        const request = await conn.recv();
        if (!Array.isArray(request) || typeof request[0] !== "string") {
          // Not this package's client (a Python one sends pickles): nothing to answer.
          break;
        }
        this.#handle(conn, held, request);
      }
    } catch {
      // The client left (or sent what cannot be read): drop it, serve the others.
    } finally {
      this.#connections.delete(conn);
      conn.close();
      for (const [object, refs] of held) this.#release(object, refs);
    }
  }

  async #handle(conn: Connection, held: Map<number, number>, request: unknown[]): Promise<void> {
    const [op, id] = request;
    if (op === "release") {
      const object = request[2] as number;
      const refs = held.get(object) ?? 0;
      if (refs > 0) {
        held.set(object, refs - 1);
        this.#release(object, 1);
      }
      return;
    }
    let value: unknown;
    try {
      value = await this.#run(op as string, request, held);
    } catch (error) {
      return this.#answer(conn, id, false, error);
    }
    this.#answer(conn, id, true, value);
    if (op === "shutdown") queueMicrotask(() => this.stop());
  }

  async #run(op: string, request: unknown[], held: Map<number, number>): Promise<unknown> {
    switch (op) {
      case "hello":
        return { protocol: MANAGER_PROTOCOL, typeids: [...this.#registry.keys()] };
      case "create": {
        const [, , typeid, args] = request as [string, number, string, unknown[]];
        const registration = this.#registry.get(typeid);
        if (!registration) {
          throw new TypeError(
            `Cannot create '${typeid}': the manager's server has no such typeid registered`,
          );
        }
        if (!registration.callable) {
          throw new TypeError(
            `Cannot create '${typeid}': it was registered on the server without a callable`,
          );
        }
        const callable = registration.callable;
        const argv = Array.isArray(args) ? args : [];
        // A class (Python's usual register('Maths', MathsClass)) is constructed.
        const made = isClass(callable)
          ? new (callable as unknown as new (...args: unknown[]) => unknown)(...argv)
          : callable(...argv);
        // Only a Promise is awaited: a served object may have a then() of its
        // own, and awaiting it would call that then(), which may never settle.
        const value = made instanceof Promise ? await made : made;
        if ((typeof value !== "object" && typeof value !== "function") || value === null) {
          throw new TypeError(
            `Cannot create '${typeid}': its callable returned ${
              value === null ? "null" : `a ${typeof value}`
            }, not an object whose methods a proxy can call`,
          );
        }
        const object = this.#hold(value, registration.exposed);
        held.set(object, (held.get(object) ?? 0) + 1);
        return { object, exposed: [...this.#objects.get(object)!.exposed] };
      }
      case "call": {
        const [, , object, method, args] = request as [string, number, number, string, unknown[]];
        const entry = this.#objects.get(object);
        if (!entry || !held.has(object)) {
          throw new Error(`Cannot call ${method}(): the object was released`);
        }
        if (!entry.exposed.has(method)) {
          throw new TypeError(
            `Cannot call ${method}(): it is not exposed by the manager (exposed: ${
              [...entry.exposed].join(", ") || "none"
            })`,
          );
        }
        const fn = (entry.value as Record<string, unknown>)[method];
        if (typeof fn !== "function") throw new TypeError(`Cannot call ${method}(): not a method`);
        const result = fn.apply(entry.value, Array.isArray(args) ? args : []);
        if (result instanceof Promise) return await result;
        // Returned from this async function, an object with a then() of its
        // own would be awaited, and its then() may never settle.
        if (isThenable(result)) {
          throw new TypeError(
            `Cannot call ${method}(): it returned an object with a then() method that is ` +
              "not a Promise; return a Promise or a plain value",
          );
        }
        return result;
      }
      case "shutdown":
        return null;
    }
    throw new TypeError(`Cannot run '${op}': the manager's server knows no such request`);
  }

  /** Holds `value` for a new proxy (each with the methods its typeid exposes). */
  #hold(value: object, exposed: string[] | undefined): number {
    const object = this.#nextObject++;
    this.#objects.set(object, {
      value,
      exposed: new Set(exposed ?? publicMethods(value)),
      refs: 1,
    });
    return object;
  }

  #release(object: number, refs: number): void {
    const entry = this.#objects.get(object);
    if (!entry) return;
    entry.refs -= refs;
    if (entry.refs <= 0) this.#objects.delete(object);
  }

  #answer(conn: Connection, id: unknown, ok: boolean, value: unknown): void {
    if (conn.closed) return; // the client left while its call ran
    try {
      // Undefined (a method with nothing to return) goes as [id, true]: plain JSON, the
      // fast path, where [id, true, undefined] would not be.
      conn.send(
        ok
          ? (value === undefined ? [id, true] : [id, true, value])
          : [id, false, toWireError(value)],
      );
    } catch (error) {
      // The value cannot be sent (a function, a shared object): say why instead.
      const text = `Cannot answer the call: ${ok ? "its result" : "what it threw"}, ` +
        `${describeValue(value)}, cannot be sent over a socket (${(error as Error).message})`;
      const wire = { e: true, name: "TypeError", message: text, stack: `TypeError: ${text}` };
      try {
        conn.send([id, false, wire]);
      } catch {
        // The connection is gone.
      }
    }
  }
}

/** Whether `value` is an object with a then() method (not necessarily a Promise). */
function isThenable(value: unknown): boolean {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

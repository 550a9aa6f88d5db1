/**
 * `BaseManager`: Python's `multiprocessing.managers.BaseManager`, a server
 * that holds objects (queues above all) for programs on other machines. A
 * class registers typeids with the callables that make the objects; a
 * manager then serves them (`start()` on a thread of this program,
 * `getServer().serveForever()` in the caller) or connects to one served
 * elsewhere (`connect()`), and `manager.<typeid>()` returns a proxy whose
 * async methods run on the server.
 *
 * The wire is Python's framing and authkey handshake, but the messages are
 * this package's own (Python's managers speak pickle): a Python client
 * cannot use a Deno manager, nor a Deno client a Python one.
 *
 * **Security.** A proxied call runs code on the server. Give every manager
 * that other machines reach an authkey, as Python's documentation warns;
 * without one, a manager listens on 127.0.0.1 only unless its address names
 * another host.
 *
 * @example A queue served by a manager in this program, used through a proxy
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AutoProxy, BaseManager } from "./base_manager.ts";
 * import { Queue } from "./queues.ts";
 *
 * const queue = new Queue<number>();
 * class QueueManager extends BaseManager {
 *   declare getQueue: () => Promise<AutoProxy<Queue<number>>>;
 * }
 * QueueManager.register("getQueue", () => queue);
 *
 * const served = new QueueManager({ address: ["127.0.0.1", 0], authkey: "abc" });
 * const server = served.getServer();
 * const serving = server.serveForever();
 *
 * await using client = new QueueManager({ address: server.address, authkey: "abc" });
 * await client.connect();
 * const q = await client.getQueue();
 * await q.put(42);
 * assert.equal(await queue.get(), 42); // it went into the server's queue
 * server.close();
 * await serving;
 * ```
 *
 * @module
 */
import { type FunctionRef, functionRef } from "./_function_ref.ts";
import { isClass, MANAGER_PROTOCOL, ManagerServer, type Registration } from "./_manager_server.ts";
import { serveManagerThread, type ServerReady, type ServerSpec } from "./_manager_worker.ts";
import { fromWireError, type WireError } from "./_remote_error.ts";
import type { SocketAddress } from "./_socket_address.ts";
import { checkAuthkey, HANDSHAKE } from "./_python_wire.ts";
import { checkOptions } from "./_options.ts";
import { moduleUrls } from "./_module_urls.ts";
import { after, describeValue } from "./_timeout.ts";
import type { Connection } from "./connection.ts";
import { Client } from "./listener.ts";
import { Process } from "./process.ts";
import { Queue } from "./queues.ts";
import {
  AuthenticationError,
  BrokenBarrierError,
  Empty,
  EOFError,
  Full,
  TimeoutError,
} from "./errors.ts";

/** This package's errors, rebuilt as themselves when a server throws them. */
const KNOWN_ERRORS: Record<string, new (message: string) => Error> = {
  Empty,
  Full,
  EOFError,
  TimeoutError,
  AuthenticationError,
  BrokenBarrierError,
};

/** How long a manager's server has to answer the first request. */
const HELLO_TIMEOUT = 20_000;

/** An error a server sent, rebuilt (its remote stack in `cause`). */
function rebuildError(wire: WireError): unknown {
  const error = fromWireError(wire);
  const name = wire.name ?? "";
  if (!(error instanceof Error) || !Object.hasOwn(KNOWN_ERRORS, name)) return error;
  const rebuilt = new KNOWN_ERRORS[name](error.message);
  rebuilt.cause = error.cause;
  return rebuilt;
}

/**
 * Options of {@linkcode BaseManager}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseManager, type BaseManagerOptions } from "./base_manager.ts";
 * const options: BaseManagerOptions = { address: ["127.0.0.1", 0], authkey: "abc" };
 * assert.deepEqual(new BaseManager(options).address, ["127.0.0.1", 0]);
 * ```
 */
export interface BaseManagerOptions {
  /**
   * Where the server listens, or where to connect: `[host, port]` or a Unix socket path.
   * The host "" means every interface with an authkey, 127.0.0.1 without.
   * @default {["127.0.0.1", 0]}
   */
  address?: SocketAddress;
  /**
   * The shared secret of server and clients (a string is taken as its UTF-8 bytes). An
   * empty key is none, as in Python.
   */
  authkey?: string | Uint8Array | null;
}

/**
 * Options of {@linkcode BaseManager.register}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseManager, type RegisterOptions } from "./base_manager.ts";
 * class ReadOnly extends BaseManager {}
 * const options: RegisterOptions = { exposed: ["qsize", "empty"] };
 * ReadOnly.register("getStats", undefined, options);
 * assert.equal(typeof (ReadOnly.prototype as unknown as Record<string, unknown>).getStats, "function");
 * ```
 */
export interface RegisterOptions {
  /** The methods a proxy may call; every public method (not starting with "_") when omitted. */
  exposed?: string[];
}

/**
 * Options of {@linkcode BaseManager.start}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StartOptions } from "./base_manager.ts";
 * const options: StartOptions = { modules: ["./tasks.ts"] };
 * assert.equal(options.modules?.length, 1);
 * ```
 */
export interface StartOptions {
  /**
   * Modules whose exports may be the registered callables, besides the main module (URLs,
   * or paths relative to the main module, as `PoolOptions.modules`).
   * @default {[]}
   */
  modules?: (string | URL)[];
}

/**
 * A server returned by {@linkcode BaseManager.getServer}: it serves in the
 * caller's thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseManager, type ManagerServerHandle } from "./base_manager.ts";
 * const server: ManagerServerHandle = new BaseManager().getServer();
 * assert.equal(server.address[0], "127.0.0.1");
 * server.close();
 * await server.serveForever(); // returns at once: it is closed
 * ```
 */
export interface ManagerServerHandle {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: SocketAddress;
  /** Serves until `close()` or a client's `shutdown()` of a started manager. */
  serveForever(): Promise<void>;
  /** Stops serving: clients are disconnected and their calls fail. */
  close(): void;
}

/**
 * The methods of `T` as a proxy has them: the same arguments, each returning
 * a promise of what the method returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProxyMethods } from "./base_manager.ts";
 * class Counter {
 *   value = 0;
 *   increment(by: number): number {
 *     return (this.value += by);
 *   }
 * }
 * const remote: ProxyMethods<Counter> = { increment: (by) => Promise.resolve(by) };
 * assert.equal(await remote.increment(2), 2);
 * ```
 */
export type ProxyMethods<T> = {
  [
    K in keyof T as K extends string ? (T[K] extends (...args: never[]) => unknown ? K : never)
      : never
  ]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * A proxy for an object of type `T` held by a manager's server (Python's
 * `AutoProxy`): each exposed method, async, running on the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AutoProxy } from "./base_manager.ts";
 * import type { Queue } from "./queues.ts";
 * type RemoteQueue = AutoProxy<Queue<string>>;
 * const check = (q: RemoteQueue): Promise<string> => q.get({ timeout: 1000 });
 * assert.equal(typeof check, "function");
 * ```
 */
export type AutoProxy<T = unknown> = BaseProxy & ProxyMethods<T>;

/** One socket to a manager's server, carrying the calls of every proxy of a manager. */
class ManagerLink {
  #conn: Connection;
  #where: string;
  #calls = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void; what: string }
  >();
  #nextCall = 1;
  #reading = false;
  #lost: string | undefined;
  /** The server's first message was an authkey challenge: it wants a key this side lacks. */
  #challenged = false;

  constructor(conn: Connection, where: string) {
    this.#conn = conn;
    this.#where = where;
  }

  static async open(address: SocketAddress, key: Uint8Array | undefined): Promise<ManagerLink> {
    // A server on every interface ("0.0.0.0", "::") is reached on the loopback.
    if (Array.isArray(address) && (address[0] === "0.0.0.0" || address[0] === "::")) {
      address = [address[0] === "::" ? "::1" : "127.0.0.1", address[1]];
    }
    const conn = await Client(address, { authkey: key });
    const where = Array.isArray(address) ? `${address[0]}:${address[1]}` : address;
    const link = new ManagerLink(conn, where);
    let hello: { protocol?: unknown } | undefined;
    let cancel = () => {};
    try {
      hello = await Promise.race([
        link.call(["hello"], "connect") as Promise<{ protocol?: unknown }>,
        new Promise<never>((_, reject) => {
          cancel = after(
            HELLO_TIMEOUT,
            () => reject(new Error(`no answer in ${HELLO_TIMEOUT} ms`)),
          );
        }),
      ]);
    } catch (error) {
      link.close();
      cancel();
      if (link.#challenged) {
        throw new AuthenticationError(
          `Cannot connect to the manager at ${where}: it asks for an authkey (it sent an ` +
            "authentication challenge), and this manager has none: give it the server's authkey",
          { cause: error },
        );
      }
      throw new Error(
        `Cannot connect to the manager at ${where}: it does not answer as a manager of this ` +
          "package (a Python manager speaks pickle, which this package does not)",
        { cause: error },
      );
    }
    cancel();
    if (hello?.protocol !== MANAGER_PROTOCOL) {
      link.close();
      throw new Error(
        `Cannot connect to the manager at ${where}: it speaks version ${
          describeValue(hello?.protocol)
        } of the manager protocol, this side ${MANAGER_PROTOCOL}`,
      );
    }
    return link;
  }

  /** Sends a request and waits for its answer. */
  call(request: unknown[], what: string): Promise<unknown> {
    if (this.#lost !== undefined) {
      return Promise.reject(new Error(`Cannot ${what}: ${this.#lost}`));
    }
    const id = this.#nextCall++;
    const [op, ...rest] = request;
    try {
      this.#conn.send([op, id, ...rest]);
    } catch (error) {
      return Promise.reject(
        error instanceof TypeError
          ? new TypeError(`Cannot ${what}: ${error.message}`, { cause: error })
          : new Error(`Cannot ${what}: ${(error as Error).message}`, { cause: error }),
      );
    }
    const answer = new Promise<unknown>((resolve, reject) =>
      this.#calls.set(id, { resolve, reject, what })
    );
    if (!this.#reading) this.#read();
    return answer;
  }

  /** Tells the server a proxy is gone (no answer). */
  release(object: number): void {
    if (this.#lost !== undefined) return;
    try {
      this.#conn.send(["release", 0, object]);
    } catch {
      // The connection is gone: the server let go of everything it held for it.
    }
  }

  /** Reads answers while calls wait for them. */
  async #read(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#calls.size > 0) {
        const answer = await this.#conn.recv();
        if (!Array.isArray(answer) || answer.length < 2 || answer.length > 3) {
          if (answer instanceof Uint8Array && startsWith(answer, HANDSHAKE.CHALLENGE)) {
            this.#challenged = true;
            this.#fail("the server sent an authentication challenge (it has an authkey)");
          } else {
            this.#fail("the server sent something that is not an answer");
          }
          return;
        }
        // [id, true] is a call that returned undefined.
        const [id, ok, value] = answer as [number, boolean, unknown];
        const call = this.#calls.get(id);
        if (!call) continue;
        this.#calls.delete(id);
        if (ok) call.resolve(value);
        else call.reject(rebuildError(value as WireError));
      }
    } catch (error) {
      const gone = error instanceof EOFError ||
        (error as Error)?.cause instanceof Deno.errors.ConnectionReset;
      this.#fail(
        gone
          ? `the manager's server at ${this.#where} closed the connection (it shut down or ended)`
          : `the connection to the manager's server at ${this.#where} failed (${
            (error as Error).message
          })`,
      );
    } finally {
      this.#reading = false;
    }
  }

  #fail(reason: string): void {
    this.#lost ??= reason;
    this.#conn.close();
    for (const [id, call] of this.#calls) {
      this.#calls.delete(id);
      call.reject(new Error(`Cannot ${call.what}: ${this.#lost}`));
    }
  }

  close(): void {
    this.#fail("the manager's connection is closed (shutdown() was called)");
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** Set while a proxy is made. */
let making: { link: ManagerLink; typeid: string; object: number } | undefined;

/**
 * What every proxy of a {@linkcode BaseManager} has besides its object's
 * exposed methods. Proxies come from `manager.<typeid>()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BaseManager, BaseProxy } from "./base_manager.ts";
 * class Counters extends BaseManager {}
 * const counts = new Map<string, number>();
 * Counters.register("getCounts", () => counts);
 * const served = new Counters();
 * const server = served.getServer();
 * const serving = server.serveForever();
 * await using manager = new Counters({ address: server.address });
 * await manager.connect();
 * const proxy = await (manager as unknown as { getCounts(): Promise<BaseProxy> }).getCounts();
 * assert.ok(proxy instanceof BaseProxy && proxy.typeid === "getCounts");
 * await proxy.callMethod("set", ["a", 1]);
 * assert.equal(counts.get("a"), 1);
 * server.close();
 * await serving;
 * ```
 */
export class BaseProxy {
  /** The typeid that made the object. */
  readonly typeid: string;
  #link: ManagerLink;
  #object: number;
  #released = false;

  /**
   * Proxies come from a manager.
   *
   * @throws {TypeError} When called directly.
   */
  constructor() {
    if (!making) throw new TypeError("Cannot construct a proxy directly: use a BaseManager");
    this.typeid = making.typeid;
    this.#link = making.link;
    this.#object = making.object;
  }

  /**
   * Calls an exposed method of the object on the server (Python's `_callmethod`).
   *
   * @param method The method's name.
   * @param args Its arguments (structured-cloneable, no shared objects).
   * @returns What it returned (awaited on the server).
   */
  callMethod(method: string, args: unknown[] = []): Promise<unknown> {
    const what = `call ${this.typeid}().${method}()`;
    if (this.#released) {
      return Promise.reject(new Error(`Cannot ${what}: the proxy was released`));
    }
    return this.#link.call(["call", this.#object, method, args], what);
  }

  /** Lets the server drop the object, once no proxy holds it. The proxy is unusable after. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#link.release(this.#object);
  }
}

function makeProxy(link: ManagerLink, typeid: string, object: number, exposed: string[]) {
  making = { link, typeid, object };
  let proxy: BaseProxy;
  try {
    proxy = new BaseProxy();
  } finally {
    making = undefined;
  }
  for (const method of exposed) {
    // The proxy's own members stay its own: such a method is reached by callMethod().
    if (isProxyMember(method)) continue;
    Object.defineProperty(proxy, method, {
      value: (...args: unknown[]) => proxy.callMethod(method, args),
      configurable: true,
      writable: true,
    });
  }
  return proxy;
}

/**
 * Whether `name` is a member of every proxy (`callMethod`, `release`, `typeid`, what
 * objects have), or `then` (a proxy is awaited): an exposed method of that name is
 * not put on the proxy.
 */
function isProxyMember(name: string): boolean {
  return name === "typeid" || name === "then" || name in BaseProxy.prototype;
}

/**
 * The value of a member found on `target` or its prototypes, read from its
 * descriptor: reading a getter on a prototype would run it without an instance.
 */
function memberValue(target: object, name: string): object {
  for (let at: object | null = target; at !== null; at = Object.getPrototypeOf(at)) {
    const descriptor = Object.getOwnPropertyDescriptor(at, name);
    if (descriptor) return (descriptor.value ?? descriptor.get ?? descriptor.set ?? at) as object;
  }
  return target;
}

/** The methods register() defined: a typeid registered again may replace them. */
const typeidMethods = new WeakSet<object>();

/** The typeids of each manager class that registered some (a subclass copies its parent's). */
const registries = new WeakMap<object, Map<string, Registration>>();

/** The typeids `cls` knows: its own, or its nearest parent's. */
function registryOf(cls: object): Map<string, Registration> {
  for (let c: object | null = cls; c; c = Object.getPrototypeOf(c)) {
    const registry = registries.get(c);
    if (registry) return registry;
  }
  return new Map();
}

function isNative(fn: (...args: never[]) => unknown): boolean {
  return Function.prototype.toString.call(fn).endsWith("{ [native code] }");
}

/** Names a typeid cannot take: the manager's own members, and `then` (a proxy is awaited). */
const RESERVED = new Set(["then", "constructor", "start", "connect", "shutdown", "getServer"]);

type State = "initial" | "connected" | "started" | "shut down";

/**
 * A manager of objects served to other programs (Python's
 * `multiprocessing.managers.BaseManager`). Subclass it, register typeids on
 * the subclass, then serve or connect. Shut it down with `shutdown()` or
 * `await using`.
 *
 * - `start()` serves in a thread of this program, and the manager itself
 *   connects to it. The callables travel by reference, as task functions do:
 *   export them from the main module (or a module in `modules`).
 * - `getServer().serveForever()` serves in the caller; any callable will do.
 * - `connect()` reaches a manager served elsewhere (another program, another
 *   machine).
 *
 * After `register("getTaskQueue", ...)`, `await manager.getTaskQueue()`
 * returns a proxy: declare it on the subclass for TypeScript
 * (`declare getTaskQueue: () => Promise<AutoProxy<Queue<number>>>`). Proxy
 * methods are async and run on the server; a queue served this way blocks and
 * times out as a local one (`await q.get({ timeout: 1000 })` throws `Empty`).
 * A server that goes away fails the calls waiting on it and every later one
 * with an error saying so.
 *
 * @example A master that serves queues (the callables exported, for start())
 * ```ts ignore
 * import { type AutoProxy, BaseManager, Queue } from "jsr:@dmp/multiprocessing";
 *
 * const taskQueue = new Queue<number>();
 * export function getTaskQueue(): Queue<number> {
 *   return taskQueue;
 * }
 * class QueueManager extends BaseManager {
 *   declare getTaskQueue: () => Promise<AutoProxy<Queue<number>>>;
 * }
 * QueueManager.register("getTaskQueue", getTaskQueue);
 *
 * if (import.meta.main) {
 *   await using manager = new QueueManager({ address: ["", 5000], authkey: "abc" });
 *   await manager.start();
 *   const task = await manager.getTaskQueue();
 *   await task.put(7);
 * }
 * ```
 *
 * @example Serving in the caller, and a client that connects
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AutoProxy, BaseManager } from "./base_manager.ts";
 * import { Queue } from "./queues.ts";
 * import { Empty } from "./errors.ts";
 * class QueueManager extends BaseManager {
 *   declare getQueue: () => Promise<AutoProxy<Queue<string>>>;
 * }
 * const queue = new Queue<string>();
 * QueueManager.register("getQueue", () => queue);
 * const server = new QueueManager({ authkey: "abc" }).getServer();
 * const serving = server.serveForever();
 * await using manager = new QueueManager({ address: server.address, authkey: "abc" });
 * await manager.connect();
 * const q = await manager.getQueue();
 * await assert.rejects(q.get({ timeout: 10 }), Empty); // timed out on the server
 * server.close();
 * await serving;
 * ```
 */
export class BaseManager implements AsyncDisposable {
  #address: SocketAddress;
  #key: Uint8Array | undefined;
  #state: State = "initial";
  #link: ManagerLink | undefined;
  #process: Process | undefined;

  /**
   * Creates a manager; nothing listens or connects yet.
   *
   * @param options `address` and `authkey`.
   * @throws {TypeError} For an option of the wrong type, or an unknown one.
   */
  constructor(options: BaseManagerOptions = {}) {
    checkOptions(options, ["address", "authkey"], "create manager");
    this.#address = options.address ?? ["127.0.0.1", 0];
    this.#key = checkAuthkey(options.authkey, "create manager");
  }

  /**
   * Registers a typeid on this class (and its subclasses): `manager.<typeid>(...args)`
   * then asks the server to run `callable(...args)` (`new callable(...args)` for a class,
   * as Python's `register('Maths', MathsClass)`) and returns a proxy for what it
   * returned. A client registers typeids without callables. Registering a typeid again
   * replaces it.
   *
   * @param typeid The method name the manager gets.
   * @param callable Makes (or returns) the object on the server: a function or a class.
   * @param options `exposed`.
   * @throws {TypeError} For a typeid that is no identifier or names a member of the
   *   manager (BaseManager's own, such as `connect` or `address`, or the subclass's), a
   *   callable that is not a function, or an `exposed` name that a proxy has itself
   *   (`callMethod`, `release`, `typeid`, `then`, `constructor`, `toString`...).
   */
  static register(
    typeid: string,
    callable?: ((...args: never[]) => unknown) | (new (...args: never[]) => unknown),
    options: RegisterOptions = {},
  ): void {
    checkOptions(options, ["exposed"], `register '${typeid}'`);
    if (typeof typeid !== "string" || !/^[A-Za-z_$][\w$]*$/.test(typeid)) {
      throw new TypeError(
        `Cannot register ${describeValue(typeid)}: a typeid must be an identifier`,
      );
    }
    if (
      RESERVED.has(typeid) || typeid in BaseManager.prototype ||
      (typeid in this.prototype && !typeidMethods.has(memberValue(this.prototype, typeid)))
    ) {
      throw new TypeError(
        `Cannot register '${typeid}': the manager has a member of that name (its own, or ` +
          `one of ${this.name}'s); choose another typeid`,
      );
    }
    if (callable !== undefined && typeof callable !== "function") {
      throw new TypeError(
        `Cannot register '${typeid}': the callable must be a function, received ${
          describeValue(callable)
        }`,
      );
    }
    const exposed = options.exposed;
    if (
      exposed !== undefined &&
      (!Array.isArray(exposed) || exposed.some((name) => typeof name !== "string"))
    ) {
      throw new TypeError(`Cannot register '${typeid}': 'exposed' must be an array of names`);
    }
    const taken = exposed?.find(isProxyMember);
    if (taken !== undefined) {
      throw new TypeError(
        `Cannot register '${typeid}': a proxy has a member '${taken}' of its own, which ` +
          `'exposed' cannot replace; leave it out, and call the object's with ` +
          `proxy.callMethod(${JSON.stringify(taken)}, args)`,
      );
    }
    if (!registries.has(this)) registries.set(this, new Map(registryOf(this)));
    registries.get(this)!.set(typeid, {
      callable: callable as ((...args: unknown[]) => unknown) | undefined,
      exposed: exposed && [...exposed],
    });
    const method = function (this: BaseManager, ...args: unknown[]) {
      return this.#create(typeid, args);
    };
    typeidMethods.add(method);
    Object.defineProperty(this.prototype, typeid, {
      value: method,
      configurable: true,
      writable: true,
    });
  }

  /** Where the server listens or the client connects (the real port once serving). */
  get address(): SocketAddress {
    return Array.isArray(this.#address) ? [...this.#address] : this.#address;
  }

  /**
   * Serves the registered objects from a thread of this program (a daemon
   * Process, which ends with the program), and connects this manager to it.
   *
   * @param options `modules`: where the callables are exported, besides the main module.
   * @throws {TypeError} When a callable is not an exported function declaration.
   * @throws {Error} When the manager was started or connected before, or the server cannot
   *   listen (the address is in use).
   */
  async start(options: StartOptions = {}): Promise<void> {
    checkOptions(options, ["modules"], "start manager");
    this.#expect("initial", "start");
    const registry: ServerSpec["registry"] = [];
    for (const [typeid, { callable, exposed }] of this.#registry()) {
      let ref: FunctionRef | null = null;
      if (callable && isClass(callable) && callable.name && !isNative(callable)) {
        // An exported class travels by reference too: found by name and source.
        ref = { id: 0, name: callable.name, src: Function.prototype.toString.call(callable) };
      } else if (callable) {
        try {
          ref = functionRef(callable, `the callable of '${typeid}'`);
        } catch (error) {
          throw new TypeError(
            `Cannot start the manager: ${(error as Error).message}; or serve in this thread ` +
              "with getServer().serveForever(), which takes any function",
            { cause: error },
          );
        }
      }
      registry.push({ typeid, callable: ref, exposed });
    }
    const modules = moduleUrls(options.modules, "start manager");
    this.#state = "started";
    const ready = new Queue<ServerReady>();
    const process = new Process({
      target: serveManagerThread,
      args: [{ address: this.#address, authkey: this.#key, registry } satisfies ServerSpec, ready],
      daemon: true,
      name: `${this.constructor.name}-server`,
      modules: [new URL("./_manager_worker.ts", import.meta.url).href, ...modules],
    });
    this.#process = process;
    process.start();
    let answer: ServerReady | undefined;
    while (!answer) {
      try {
        answer = await ready.get({ timeout: 100 });
      } catch (error) {
        if (!(error instanceof Empty)) throw error;
        if (!process.isAlive()) {
          this.#state = "shut down";
          throw new Error(
            "Cannot start the manager: its server thread ended before it listened " +
              `(exitcode ${process.exitcode}; its error is on stderr)`,
          );
        }
      }
    }
    if (!answer.ok) {
      this.#state = "shut down";
      await process.join();
      throw rebuildError(answer.error);
    }
    this.#address = answer.address;
    try {
      this.#link = await ManagerLink.open(this.#address, this.#key);
    } catch (error) {
      await this.shutdown();
      throw error;
    }
  }

  /**
   * A server for the registered objects that serves in the caller's thread
   * (Python's `get_server()`): it listens at once; `serveForever()` serves.
   *
   * @returns The server.
   * @throws {Error} When the address is in use.
   */
  getServer(): ManagerServerHandle {
    const server = new ManagerServer(new Map(this.#registry()), this.#address, this.#key);
    return {
      get address() {
        return server.address;
      },
      serveForever: () => server.serveForever(),
      close: () => server.stop(),
    };
  }

  /**
   * Connects to a manager served elsewhere, at `address` with `authkey`.
   *
   * @throws {AuthenticationError} When the authkeys differ.
   * @throws {Error} When nobody listens there, or it is not a manager of this package.
   */
  async connect(): Promise<void> {
    this.#expect("initial", "connect");
    this.#state = "connected";
    try {
      this.#link = await ManagerLink.open(this.#address, this.#key);
    } catch (error) {
      this.#state = "initial";
      throw error;
    }
  }

  /**
   * Shuts down: a started manager stops its server (clients' calls then
   * fail) and its thread; a connected one closes its connection (the server
   * goes on). Proxies fail afterwards. Shutting down twice does nothing.
   */
  async shutdown(): Promise<void> {
    const state = this.#state;
    if (state === "shut down" || state === "initial") {
      this.#state = state === "initial" ? "initial" : state;
      return;
    }
    this.#state = "shut down";
    const link = this.#link;
    const process = this.#process;
    if (link && process) await link.call(["shutdown"], "shut down the manager").catch(() => {});
    link?.close();
    if (process) {
      await process.join(5_000);
      if (process.isAlive()) {
        process.terminate();
        await process.join();
      }
    }
  }

  /** `await using manager = ...`: shutdown(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #registry(): Map<string, Registration> {
    return registryOf(this.constructor);
  }

  #expect(state: State, action: string): void {
    if (this.#state === state) return;
    throw new Error(
      `Cannot ${action}: the manager was ${
        this.#state === "shut down" ? "shut down" : this.#state
      } already; make a new one`,
    );
  }

  async #create(typeid: string, args: unknown[]): Promise<BaseProxy> {
    const what = `call ${typeid}()`;
    if (!this.#link || this.#state === "shut down") {
      throw new Error(
        `Cannot ${what}: the manager is ${
          this.#state === "shut down" ? "shut down" : "neither started nor connected"
        }`,
      );
    }
    const link = this.#link;
    const { object, exposed } = await link.call(["create", typeid, args], what) as {
      object: number;
      exposed: string[];
    };
    return makeProxy(link, typeid, object, exposed);
  }
}

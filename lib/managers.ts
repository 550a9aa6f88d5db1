/**
 * `Manager`: Python's `multiprocessing.Manager`, a server holding dicts,
 * lists and namespaces that every thread reaches through proxies with async
 * methods. The server runs on the main thread; proxies in workers send their
 * calls through a shared-memory queue and get answers on a queue of their
 * own thread. Proxies travel into tasks and Processes like any shared object,
 * and can be nested (a list inside a dict).
 *
 * The queue and synchronization types need no server here (they live in
 * shared memory), so `manager.Queue()`, `manager.Lock()` and the others
 * return the ordinary objects, which work across threads.
 *
 * @module
 */
import { Barrier, type BarrierOptions } from "./barrier.ts";
import {
  adoptHandle,
  newSharedId,
  registerShareable,
  reviveReduction,
  SHARE,
  type SharedReduction,
} from "./_shared_registry.ts";
import { decodeItem, encodeItem } from "./_item_codec.ts";
import { JoinableQueue, Queue } from "./queues.ts";
import {
  type ItemOf,
  SharedArray,
  type SynchronizedOptions,
  type Typecode,
  Value,
} from "./shared_memory.ts";
import { BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from "./synchronize.ts";

type Kind = "dict" | "list" | "namespace";
// A client's first request carries its reply queue; later ones only its
// number, so that a request is plain JSON (a queue in an item costs a
// shared-object lookup on both sides, for every call).
type Request = [
  client: number,
  id: number,
  object: number,
  method: string,
  args: unknown[],
  reply?: Queue<Response>,
];
type Response = [id: number, ok: boolean, value: unknown];

interface ManagerState {
  requests: SharedReduction;
  /** Int32 [1 once shut down]. */
  closed: SharedArrayBuffer;
  id: number;
}

/** The managed objects, by id, on the server (main) thread. */
const servers = new Map<number, Server>();

class Server {
  readonly objects = new Map<number, { kind: Kind; data: Map<string, unknown> | unknown[] }>();
  #nextObject = 1;

  create(kind: Kind, init: unknown): number {
    const id = this.#nextObject++;
    const data = kind === "list"
      ? Array.from((init ?? []) as Iterable<unknown>)
      : new Map(Object.entries((init ?? {}) as Record<string, unknown>));
    this.objects.set(id, { kind, data });
    return id;
  }

  // Methods with nothing to return answer null, not undefined: a response
  // of plain JSON takes the queue's fast path.
  call(objectId: number, method: string, args: unknown[]): unknown {
    const object = this.objects.get(objectId);
    if (!object) throw new Error(`Cannot call ${method}(): no managed object ${objectId}`);
    if (object.kind === "list") {
      const list = object.data as unknown[];
      switch (method) {
        case "append":
          list.push(args[0]);
          return null;
        case "extend":
          list.push(...(args[0] as unknown[]));
          return null;
        case "get":
          return list.at(index(args[0], list.length));
        case "set":
          list[index(args[0], list.length)] = args[1];
          return null;
        case "pop":
          return args[0] === undefined
            ? list.pop()
            : list.splice(index(args[0], list.length), 1)[0];
        case "length":
          return list.length;
        case "toArray":
          return list.slice();
      }
    } else {
      const map = object.data as Map<string, unknown>;
      const key = String(args[0]);
      switch (method) {
        case "get":
          return map.has(key) ? map.get(key) : args[1];
        case "set":
          map.set(key, args[1]);
          return null;
        case "delete":
          return map.delete(key);
        case "has":
          return map.has(key);
        case "keys":
          return [...map.keys()];
        case "values":
          return [...map.values()];
        case "entries":
          return [...map.entries()];
        case "length":
          return map.size;
        case "update":
          for (const [k, v] of Object.entries(args[0] as Record<string, unknown>)) map.set(k, v);
          return null;
        case "toObject":
          return Object.fromEntries(map);
      }
    }
    throw new TypeError(`Cannot call ${method}(): a managed ${object.kind} has no such method`);
  }
}

function index(i: unknown, length: number): number {
  if (!Number.isInteger(i)) {
    throw new TypeError(`list index must be an integer, received ${String(i)}`);
  }
  const n = (i as number) < 0 ? length + (i as number) : (i as number);
  if (n < 0 || n >= length) throw new RangeError(`list index ${i} out of range (length ${length})`);
  return n;
}

/** Per thread and manager: the reply queue and the calls waiting on it. */
interface Client {
  /** This thread's number with the manager (a shared id: unique program-wide). */
  number: number;
  reply: Queue<Response>;
  /** Whether the server has the reply queue yet. */
  introduced: boolean;
  /** Calls whose answer the current reader hands over. */
  waiting: Map<number, (response: Response) => void>;
  /** Whether a call (or the pump) is reading the reply queue. */
  reading: boolean;
}

const clients = new Map<number, Client>();
let nextCall = 1;

/**
 * Waits for the answer to call `id`. The server answers a thread's calls in
 * the order they were sent, one queue per thread; so with no other call of
 * this thread reading, this one reads the queue itself (the common case: no
 * hand-over, two microtask turns fewer), and otherwise waits to be handed
 * its answer.
 */
async function answerTo(client: Client, id: number): Promise<Response> {
  if (client.reading) return await new Promise((resolve) => client.waiting.set(id, resolve));
  client.reading = true;
  let mine: Response | undefined;
  try {
    while (mine === undefined) {
      const response = await client.reply.get();
      if (response[0] === id) mine = response;
      else deliver(client, response);
    }
  } finally {
    client.reading = false;
    // Calls that began while this one read wait for answers still to come.
    if (client.waiting.size > 0) pump(client);
  }
  return mine;
}

/** Hands `response` to the call that waits for it. */
function deliver(client: Client, response: Response): void {
  const resolve = client.waiting.get(response[0]);
  client.waiting.delete(response[0]);
  resolve?.(response);
}

/** Reads replies while calls wait, handing each to its caller. */
function pump(client: Client): void {
  if (client.reading) return;
  client.reading = true;
  (async () => {
    try {
      while (client.waiting.size > 0) deliver(client, await client.reply.get());
    } finally {
      client.reading = false;
    }
  })();
}

/** How a proxy reaches its manager. */
class Link {
  readonly state: ManagerState;
  readonly requests: Queue<Request>;
  readonly closed: Int32Array;

  constructor(state: ManagerState, requests?: Queue<Request>) {
    this.state = state;
    this.requests = requests ?? reviveReduction(state.requests) as Queue<Request>;
    this.closed = new Int32Array(state.closed);
  }

  async call(object: number, kind: Kind, method: string, args: unknown[]): Promise<unknown> {
    if (Atomics.load(this.closed, 0) === 1) {
      throw new Error(`Cannot call ${kind}.${method}(): its Manager has shut down`);
    }
    const server = servers.get(this.state.id);
    // This thread runs the server: values still go in and out as copies,
    // as they would from any other thread (and as Python's manager pickles).
    if (server) return copied(server.call(object, method, copied(args)));
    let client = clients.get(this.state.id);
    if (!client) {
      client = {
        number: newSharedId(),
        reply: new Queue<Response>(),
        introduced: false,
        waiting: new Map(),
        reading: false,
      };
      clients.set(this.state.id, client);
    }
    const id = nextCall++;
    const request: Request = [client.number, id, object, method, args];
    if (!client.introduced) request.push(client.reply);
    // Throws when an argument cannot be cloned, and then nothing was sent:
    // no answer to wait for, and the reply queue is still to be introduced.
    // (The request queue is unbounded: putting never waits.)
    this.requests.putNowait(request);
    client.introduced = true;
    const [, ok, value] = await answerTo(client, id);
    if (!ok) throw value;
    return value;
  }
}

/** A copy of `value` as another thread would receive it (shared objects stay shared). */
function copied<T>(value: T): T {
  const item = encodeItem(value);
  return decodeItem(item.tagged, item.json, item.blobs) as T;
}

/** Set while makeProxy() constructs a proxy. */
let making: { link: Link; object: number; kind: Kind } | undefined;

function makeProxy(kind: Kind, link: Link, object: number): ManagedProxy {
  making = { link, object, kind };
  try {
    return new PROXIES[kind]();
  } finally {
    making = undefined;
  }
}

/**
 * What every manager proxy shares: which managed object, and the way to its
 * manager. Proxies come from a {@linkcode Manager}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManagedProxy, Manager } from "./managers.ts";
 * await using manager = new Manager();
 * assert.ok(manager.dict() instanceof ManagedProxy);
 * assert.ok(manager.list() instanceof ManagedProxy);
 * ```
 */
export abstract class ManagedProxy {
  #link: Link;
  #object: number;
  #kind: Kind;

  /**
   * Proxies come from `manager.dict()`, `manager.list()` and `manager.namespace()`.
   *
   * @throws {TypeError} When called directly.
   */
  constructor() {
    if (!making) throw new TypeError("Cannot construct a proxy directly: use a Manager");
    this.#link = making.link;
    this.#object = making.object;
    this.#kind = making.kind;
  }

  /** Calls `method` on the managed object. */
  protected call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.#link.call(this.#object, this.#kind, method, args);
  }

  /**
   * Reduces the proxy to what reaches its object from another thread.
   * @ignore
   */
  [SHARE](): SharedReduction {
    return {
      type: "ManagedProxy",
      id: this.#link.state.id * 1_000_000 + this.#object,
      state: { manager: this.#link.state, object: this.#object, kind: this.#kind },
    };
  }
}

/**
 * A dict held by a {@linkcode Manager} (Python's `DictProxy`), with async methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Manager } from "./managers.ts";
 * await using manager = new Manager();
 * const d = manager.dict({ count: 100 });
 * await d.set("count", (await d.get("count") as number) - 1);
 * assert.deepEqual(await d.toObject(), { count: 99 });
 * ```
 */
export class DictProxy extends ManagedProxy {
  /** The value of `key`, or `fallback`. */
  get(key: string, fallback?: unknown): Promise<unknown> {
    return this.call("get", key, fallback);
  }
  /** Sets `key`. */
  async set(key: string, value: unknown): Promise<void> {
    await this.call("set", key, value);
  }
  /** Removes `key`; whether it was there. */
  delete(key: string): Promise<boolean> {
    return this.call("delete", key) as Promise<boolean>;
  }
  /** Whether `key` is there. */
  has(key: string): Promise<boolean> {
    return this.call("has", key) as Promise<boolean>;
  }
  /** The keys. */
  keys(): Promise<string[]> {
    return this.call("keys") as Promise<string[]>;
  }
  /** The values. */
  values(): Promise<unknown[]> {
    return this.call("values") as Promise<unknown[]>;
  }
  /** The entries (Python's `items()`). */
  entries(): Promise<[string, unknown][]> {
    return this.call("entries") as Promise<[string, unknown][]>;
  }
  /** The number of keys (Python's `len(d)`). */
  length(): Promise<number> {
    return this.call("length") as Promise<number>;
  }
  /** Sets every key of `values`. */
  async update(values: Record<string, unknown>): Promise<void> {
    await this.call("update", values);
  }
  /** A copy as a plain object. */
  toObject(): Promise<Record<string, unknown>> {
    return this.call("toObject") as Promise<Record<string, unknown>>;
  }
}

/**
 * A list held by a {@linkcode Manager} (Python's `ListProxy`), with async methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Manager } from "./managers.ts";
 * await using manager = new Manager();
 * const l = manager.list();
 * await l.extend([11, 12, 13]);
 * await l.append(14);
 * assert.deepEqual(await l.toArray(), [11, 12, 13, 14]);
 * ```
 */
export class ListProxy extends ManagedProxy {
  /** Adds `value` at the end. */
  async append(value: unknown): Promise<void> {
    await this.call("append", value);
  }
  /** Adds `values` at the end (Python's `l += values`). */
  async extend(values: Iterable<unknown>): Promise<void> {
    await this.call("extend", Array.from(values));
  }
  /** The item at `index` (negative counts from the end). */
  get(index: number): Promise<unknown> {
    return this.call("get", index);
  }
  /** Replaces the item at `index`. */
  async set(index: number, value: unknown): Promise<void> {
    await this.call("set", index, value);
  }
  /** Removes and returns the last item, or the one at `index`. */
  pop(index?: number): Promise<unknown> {
    return this.call("pop", index);
  }
  /** The number of items. */
  length(): Promise<number> {
    return this.call("length") as Promise<number>;
  }
  /** A copy as an array. */
  toArray(): Promise<unknown[]> {
    return this.call("toArray") as Promise<unknown[]>;
  }
}

/**
 * A namespace held by a {@linkcode Manager} (Python's `Namespace`): named
 * attributes read and written with async `get` and `set`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Manager } from "./managers.ts";
 * await using manager = new Manager();
 * const ns = manager.namespace({ x: 1 });
 * await ns.set("y", 2);
 * assert.deepEqual(await ns.toObject(), { x: 1, y: 2 });
 * ```
 */
export class NamespaceProxy extends ManagedProxy {
  /** The attribute `name`. */
  get(name: string): Promise<unknown> {
    return this.call("get", name);
  }
  /** Sets the attribute `name`. */
  async set(name: string, value: unknown): Promise<void> {
    await this.call("set", name, value);
  }
  /** A copy of all attributes. */
  toObject(): Promise<Record<string, unknown>> {
    return this.call("toObject") as Promise<Record<string, unknown>>;
  }
}

const PROXIES = { dict: DictProxy, list: ListProxy, namespace: NamespaceProxy };

registerShareable("ManagedProxy", (state) => {
  const { manager, object, kind } = state as { manager: ManagerState; object: number; kind: Kind };
  return makeProxy(kind, new Link(manager), object);
});

/**
 * A manager: its server holds dicts, lists and namespaces for every thread
 * (Python's `multiprocessing.Manager()`). Shut it down with `shutdown()` or
 * `await using`; until then its server keeps the program alive.
 *
 * @example
 * ```ts ignore
 * import { Manager, Process } from "jsr:@dmp/multiprocessing";
 * await using manager = new Manager();
 * const d = manager.dict();
 * const l = manager.list();
 * const p = new Process({ target: worker, args: [d, l] });
 * p.start();
 * await p.join();
 * console.log(await d.toObject(), await l.toArray());
 * ```
 *
 * @example A child process fills a managed dict (its target from a data: URL module)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Manager } from "./managers.ts";
 * import { Process } from "./process.ts";
 * const tasks = "data:text/javascript,export async function fill(d) { await d.set('from', 'a child'); }";
 * const { fill } = await import(tasks);
 * await using manager = new Manager();
 * const d = manager.dict();
 * const p = new Process({ target: fill, args: [d], modules: [tasks] });
 * p.start();
 * await p.join();
 * assert.deepEqual(await d.toObject(), { from: "a child" });
 * ```
 */
export class Manager implements AsyncDisposable {
  #server = new Server();
  #link: Link;
  #requests: Queue<Request>;
  /** Each client thread's reply queue, by client number. */
  #replies = new Map<number, Queue<Response>>();
  #closed = new Int32Array(new SharedArrayBuffer(4));
  #stopped: Promise<void>;

  /** Starts the server on this thread. */
  constructor() {
    const id = newSharedId();
    this.#requests = new Queue<Request>();
    const state: ManagerState = {
      requests: this.#requests[SHARE](),
      closed: this.#closed.buffer as SharedArrayBuffer,
      id,
    };
    this.#link = new Link(state, this.#requests);
    servers.set(id, this.#server);
    adoptHandle(this, id);
    this.#stopped = this.#serve();
  }

  /** Answers requests until shutdown. */
  async #serve(): Promise<void> {
    for (;;) {
      let request: Request;
      try {
        request = await this.#requests.get();
      } catch {
        return; // closed by shutdown()
      }
      const [client, id, object, method, args, introduced] = request;
      if (introduced) this.#replies.set(client, introduced);
      const reply = this.#replies.get(client)!;
      let response: Response;
      if (Atomics.load(this.#closed, 0) === 1) {
        response = [id, false, new Error(`Cannot call ${method}(): its Manager has shut down`)];
      } else {
        try {
          response = [id, true, this.#server.call(object, method, args)];
        } catch (error) {
          response = [id, false, error];
        }
      }
      // Reply queues are unbounded: putting never waits (and takes no await).
      try {
        reply.putNowait(response);
      } catch (error) {
        // The value could not be cloned: the caller gets why.
        try {
          reply.putNowait([id, false, error]);
        } catch {
          // Its thread closed the queue (it ended): nobody is waiting.
        }
      }
    }
  }

  /** A managed dict, optionally filled from `init`. */
  dict(init?: Record<string, unknown>): DictProxy {
    this.#check("dict");
    return makeProxy("dict", this.#link, this.#server.create("dict", init)) as DictProxy;
  }

  /** A managed list, optionally filled from `init`. */
  list(init?: Iterable<unknown>): ListProxy {
    this.#check("list");
    return makeProxy("list", this.#link, this.#server.create("list", init)) as ListProxy;
  }

  /** A managed namespace with the attributes of `init`. */
  namespace(init?: Record<string, unknown>): NamespaceProxy {
    this.#check("namespace");
    return makeProxy(
      "namespace",
      this.#link,
      this.#server.create("namespace", init),
    ) as NamespaceProxy;
  }

  /** A queue for every thread (shared memory: no server needed). */
  Queue<T = unknown>(maxsize = 0): Queue<T> {
    return new Queue<T>(maxsize);
  }
  /** A joinable queue for every thread. */
  JoinableQueue<T = unknown>(maxsize = 0): JoinableQueue<T> {
    return new JoinableQueue<T>(maxsize);
  }
  /** A lock for every thread. */
  Lock(): Lock {
    return new Lock();
  }
  /** A re-entrant lock for every thread. */
  RLock(): RLock {
    return new RLock();
  }
  /** A semaphore for every thread. */
  Semaphore(value = 1): Semaphore {
    return new Semaphore(value);
  }
  /** A bounded semaphore for every thread. */
  BoundedSemaphore(value = 1): BoundedSemaphore {
    return new BoundedSemaphore(value);
  }
  /** An event for every thread. */
  Event(): Event {
    return new Event();
  }
  /** A condition for every thread. */
  Condition(lock?: Lock | RLock): Condition {
    return new Condition(lock);
  }
  /** A barrier for every thread. */
  Barrier(parties: number, options?: BarrierOptions): Barrier {
    return new Barrier(parties, options);
  }
  /** A shared value for every thread. */
  Value<C extends Typecode>(
    typecode: C,
    initial?: ItemOf<C>,
    options?: SynchronizedOptions,
  ): Value<C> {
    return new Value(typecode, initial, options);
  }
  /** A shared array for every thread. */
  Array<C extends Typecode>(
    typecode: C,
    sizeOrValues: number | Iterable<ItemOf<C>>,
    options?: SynchronizedOptions,
  ): SharedArray<C> {
    return new SharedArray(typecode, sizeOrValues, options);
  }

  /** Stops the server; proxies used afterwards throw. */
  async shutdown(): Promise<void> {
    if (Atomics.exchange(this.#closed, 0, 1) === 1) return this.#stopped;
    servers.delete(this.#link.state.id);
    // Answer what is queued (with errors), then stop.
    for (;;) {
      let request: Request;
      try {
        request = this.#requests.getNowait();
      } catch {
        break;
      }
      const [client, id, , method, , introduced] = request;
      const reply = introduced ?? this.#replies.get(client);
      await reply?.put([id, false, new Error(`Cannot call ${method}(): its Manager has shut down`)])
        .catch(() => {});
    }
    this.#requests.close();
    await this.#stopped;
  }

  /** `await using manager = new Manager()`: shutdown(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #check(what: string): void {
    if (Atomics.load(this.#closed, 0) === 1) {
      throw new Error(`Cannot create a ${what}: the Manager has shut down`);
    }
  }
}

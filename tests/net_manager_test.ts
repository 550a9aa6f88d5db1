// BaseManager: served from a thread (start()) or in the caller
// (getServer().serveForever()), used through proxies over TCP on 127.0.0.1;
// queues that block and time out; exposed methods; errors; wrong keys;
// dropped clients; a server killed mid-call; Python's managers refused.
import assert from "node:assert/strict";
import {
  AuthenticationError,
  type AutoProxy,
  BaseManager,
  BaseProxy,
  Empty,
  Listener,
  Queue,
  RemoteError,
} from "../mod.ts";
import { Counter, getQueue, makeCounter, makeNumber } from "./fixtures/net_manager_tasks.ts";

const TASKS = new URL("./fixtures/net_manager_tasks.ts", import.meta.url).href;

class StartedManager extends BaseManager {
  declare getQueue: () => Promise<AutoProxy<Queue<unknown>>>;
  declare makeCounter: (start?: number) => Promise<AutoProxy<Counter>>;
  declare makeNumber: () => Promise<BaseProxy>;
  declare Counter: () => Promise<AutoProxy<Counter>>;
}
StartedManager.register("getQueue", getQueue);
StartedManager.register("Counter", Counter); // a class: constructed with new
StartedManager.register("makeCounter", makeCounter);
StartedManager.register("makeNumber", makeNumber);

Deno.test("BaseManager.start(): objects on a server thread, reached through proxies", async () => {
  await using manager = new StartedManager({ address: ["127.0.0.1", 0], authkey: "abc" });
  await manager.start({ modules: [TASKS] });
  const [host, port] = manager.address as [string, number];
  assert.equal(host, "127.0.0.1");
  assert.ok(port > 0);

  const q = await manager.getQueue();
  assert.ok(q instanceof BaseProxy && q.typeid === "getQueue");
  await q.put({ a: [1, 2n] });
  assert.deepEqual(await q.get(), { a: [1, 2n] });
  // A queue served this way times out as a local one does, with Empty.
  const t = performance.now();
  await assert.rejects(q.get({ timeout: 100 }), Empty);
  assert.ok(performance.now() - t >= 90);
  await assert.rejects(q.getNowait(), Empty);
  assert.equal(await q.qsize(), 0);

  const counter = await manager.makeCounter(10);
  assert.equal(await counter.increment(5), 15);
  assert.equal(await counter.read(), 15);
  // A second proxy from the same callable is another object.
  const other = await manager.makeCounter();
  assert.equal(await other.read(), 0);
  // An exported class travels by reference too, and the server constructs it.
  const made = await manager.Counter();
  assert.equal(await made.increment(3), 3);
});

Deno.test("BaseManager proxies: calls run side by side, errors come back as themselves", async () => {
  await using manager = new StartedManager({ authkey: "abc" });
  await manager.start({ modules: [TASKS] });
  const counter = await manager.makeCounter();
  // The slow call does not hold up the quick one.
  const slow = counter.slowly(300);
  assert.equal(await counter.increment(), 1);
  assert.equal(await slow, "after 300 ms");
  await assert.rejects(counter.fail("boom"), (e: Error) => {
    assert.ok(e instanceof RangeError && e.message === "boom");
    assert.ok(e.cause instanceof RemoteError && /fail/.test(e.cause.message));
    return true;
  });
  await assert.rejects(counter.returnsAFunction(), /its result.*cannot be sent over a socket/);
  await assert.rejects(
    counter.increment((() => 1) as unknown as number),
    (e: Error) =>
      e instanceof TypeError && /Cannot call makeCounter\(\)\.increment\(\)/.test(e.message),
  );
  // Public methods only: no proxy method for _hidden, and the server refuses it.
  assert.equal((counter as unknown as Record<string, unknown>)._hidden, undefined);
  await assert.rejects(counter.callMethod("_hidden"), /not exposed/);
  await assert.rejects(manager.makeNumber(), /returned a number, not an object/);
  assert.equal(await counter.read(), 1, "the connection goes on after errors");
});

Deno.test("BaseManager.shutdown(): proxies fail afterwards; shutting down twice does nothing", async () => {
  const manager = new StartedManager();
  await manager.start({ modules: [TASKS] });
  const q = await manager.getQueue();
  await manager.shutdown();
  await manager.shutdown();
  await assert.rejects(q.put(1), /shut down|closed/);
  await assert.rejects(manager.getQueue(), /the manager is shut down/);
  await assert.rejects(manager.start(), /shut down already/);
});

Deno.test("BaseManager.start() refuses callables that cannot travel by reference", async () => {
  class Lambdas extends BaseManager {}
  Lambdas.register("getQueue", () => new Queue());
  const manager = new Lambdas();
  await assert.rejects(
    manager.start(),
    (e: Error) =>
      e instanceof TypeError && /an arrow function/.test(e.message) &&
      /getServer\(\)\.serveForever\(\)/.test(e.message),
  );
});

Deno.test("BaseManager.start() on an address in use fails with the reason", async () => {
  using taken = new Listener();
  const manager = new StartedManager({ address: taken.address });
  await assert.rejects(manager.start({ modules: [TASKS] }), /the address is in use/);
});

class ClosureManager extends BaseManager {
  declare getQueue: () => Promise<AutoProxy<Queue<number>>>;
  declare getLimited: () => Promise<AutoProxy<Queue<number>>>;
  declare unknownHere: () => Promise<BaseProxy>;
  declare noCallable: () => Promise<BaseProxy>;
  declare getGate: () => Promise<AutoProxy<{ wait(): Promise<string> }>>;
}
const served = new Queue<number>();
ClosureManager.register("getQueue", () => served);
ClosureManager.register("getLimited", () => served, { exposed: ["qsize"] });
ClosureManager.register("noCallable");
let openGate!: () => void;
const gateOpen = new Promise<string>((resolve) => openGate = () => resolve("open"));
ClosureManager.register("getGate", () => ({ wait: () => gateOpen }));

/** A server in this thread for the closures above, and how to end it. */
function serve(authkey: string | undefined = "abc") {
  const server = new ClosureManager({ address: ["127.0.0.1", 0], authkey }).getServer();
  const serving = server.serveForever();
  return {
    server,
    async [Symbol.asyncDispose]() {
      server.close();
      await serving;
    },
  };
}

Deno.test("getServer().serveForever(): any callable; exposed limits the methods; unknown typeids refused", async () => {
  await using s = serve();
  await using manager = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await manager.connect();
  const q = await manager.getQueue();
  await q.put(7);
  assert.equal(await served.get(), 7, "the server's own queue");
  const limited = await manager.getLimited();
  assert.equal(await limited.qsize(), 0);
  assert.equal((limited as unknown as Record<string, unknown>).put, undefined);
  await assert.rejects(
    limited.callMethod("put", [1]),
    /not exposed by the manager \(exposed: qsize\)/,
  );
  await assert.rejects(manager.noCallable(), /registered on the server without a callable/);
  ClosureManager.register("unknownHere");
  await assert.rejects(manager.unknownHere(), /no such typeid registered/);
});

Deno.test("BaseManager: a wrong authkey is refused, and the server goes on", async () => {
  await using s = serve("right");
  const wrong = new ClosureManager({ address: s.server.address, authkey: "wrong" });
  await assert.rejects(wrong.connect(), AuthenticationError);
  // Without a key: told the server asks for one (not that it is no manager).
  const none = new ClosureManager({ address: s.server.address });
  await assert.rejects(none.connect(), (e: Error) => {
    assert.ok(e instanceof AuthenticationError, String(e));
    assert.match(e.message, /it asks for an authkey/);
    return true;
  });
  await using right = new ClosureManager({ address: s.server.address, authkey: "right" });
  await right.connect();
  assert.equal(await (await right.getQueue()).qsize(), 0);
});

Deno.test("BaseManager: an empty authkey is none: the host '' is 127.0.0.1, no handshake", async () => {
  for (const authkey of ["", new Uint8Array(0)]) {
    const server = new ClosureManager({ address: ["", 0], authkey }).getServer();
    const serving = server.serveForever();
    try {
      assert.equal((server.address as [string, number])[0], "127.0.0.1");
      await using manager = new ClosureManager({ address: server.address, authkey });
      await manager.connect();
      assert.equal(await (await manager.getQueue()).qsize(), 0);
      await using keyless = new ClosureManager({ address: server.address });
      await keyless.connect();
    } finally {
      server.close();
      await serving;
    }
  }
});

class Maths {
  #factor: number;
  constructor(factor = 1) {
    this.#factor = factor;
  }
  times(n: number): number {
    return n * this.#factor;
  }
  nothing(): void {}
  echo<T>(value: T): T {
    return value;
  }
}

/** Methods named as the proxy's own members. */
class Clashing {
  released = 0;
  release(): string {
    this.released++;
    return "the object's release";
  }
  then(): string {
    return "the object's then";
  }
  callMethod(): string {
    return "the object's callMethod";
  }
  /** A result that awaiting would never settle. */
  thenable(): { then(): void } {
    return { then() {} };
  }
}

class ClassManager extends BaseManager {
  declare Maths: (factor?: number) => Promise<AutoProxy<Maths>>;
  declare getMap: () => Promise<AutoProxy<Map<string, number>>>;
  declare Clashing: () => Promise<AutoProxy<Clashing>>;
}
ClassManager.register("Maths", Maths);
ClassManager.register("getMap", Map);
ClassManager.register("Clashing", Clashing);

Deno.test("BaseManager.register with a class: the server constructs it, with the call's arguments", async () => {
  const server = new ClassManager().getServer();
  const serving = server.serveForever();
  try {
    await using manager = new ClassManager({ address: server.address });
    await manager.connect();
    const maths = await manager.Maths(6);
    assert.equal(await maths.times(7), 42);
    assert.equal(await (await manager.Maths()).times(7), 7);
    const map = await manager.getMap(); // a built-in class
    await map.set("a", 1);
    assert.equal(await map.get("a"), 1);
    assert.equal(await map.get("absent"), undefined);
    // undefined comes back as undefined, not null.
    assert.equal(await maths.nothing(), undefined);
    assert.equal(await maths.echo(undefined), undefined);
    assert.equal(await maths.echo(null), null);
    assert.deepEqual(await maths.echo([undefined, null]), [undefined, null]);
  } finally {
    server.close();
    await serving;
  }
});

Deno.test("BaseManager proxies: methods named as a proxy's own members stay the proxy's", async () => {
  const server = new ClassManager().getServer();
  const serving = server.serveForever();
  try {
    await using manager = new ClassManager({ address: server.address });
    await manager.connect();
    // Awaiting it does not call its then() (typed as a plain proxy: the class's then() would confuse await).
    const clashing = await (manager.Clashing() as unknown as Promise<BaseProxy>);
    assert.ok(clashing instanceof BaseProxy);
    assert.equal(clashing.release, BaseProxy.prototype.release);
    assert.equal(clashing.callMethod, BaseProxy.prototype.callMethod);
    assert.equal((clashing as unknown as Record<string, unknown>).then, undefined);
    // The object's methods of those names are reached through callMethod().
    assert.equal(await clashing.callMethod("release"), "the object's release");
    assert.equal(await clashing.callMethod("then"), "the object's then");
    assert.equal(await clashing.callMethod("callMethod"), "the object's callMethod");
    await assert.rejects(clashing.callMethod("thenable"), /then\(\) method that is not a Promise/);
    clashing.release();
    await assert.rejects(clashing.callMethod("release"), /the proxy was released/);
  } finally {
    server.close();
    await serving;
  }
});

Deno.test("BaseManager: a client that drops mid-call does not take the server down", async () => {
  await using s = serve();
  const dropping = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await dropping.connect();
  const gate = await dropping.getGate();
  const waiting = gate.wait(); // waits on the server until the gate opens
  await dropping.shutdown(); // a connected manager: closes its connection only
  await assert.rejects(waiting, /closed/);
  await using other = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await other.connect();
  const q = await other.getQueue();
  assert.equal(await q.qsize(), 0);
  // The dropped client's call ends now: its answer has nowhere to go.
  openGate();
  assert.equal(await (await other.getGate()).wait(), "open");
  assert.equal(await q.qsize(), 0);
});

Deno.test("BaseManager: a server killed mid-call fails the call, and every later one, with the reason", async () => {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/net_manager_server.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  const port = Number(text.trim());
  class Remote extends BaseManager {
    declare getQueue: () => Promise<AutoProxy<Queue<number>>>;
  }
  Remote.register("getQueue");
  const manager = new Remote({ address: ["127.0.0.1", port], authkey: "abc" });
  await manager.connect();
  const q = await manager.getQueue();
  await q.put(1);
  assert.equal(await q.get(), 1);
  const waiting = assert.rejects(q.get(), /closed the connection/);
  server.kill("SIGKILL");
  await server.status;
  await reader.cancel();
  await waiting;
  await assert.rejects(q.put(2), /closed the connection/);
  await manager.shutdown();
});

Deno.test("BaseManager.connect(): nothing there, or a peer that is no manager of this package", async () => {
  const nothing = new ClosureManager({ address: ["127.0.0.1", 1] });
  await assert.rejects(nothing.connect(), /nothing listens there/);
  await using listener = new Listener();
  const hangingUp = (async () => (await listener.accept()).close())();
  const manager = new ClosureManager({ address: listener.address });
  await assert.rejects(manager.connect(), /does not answer as a manager of this package/);
  await hangingUp;
});

Deno.test("BaseManager: connect twice or start after connect is refused; a client's shutdown leaves the server serving", async () => {
  await using s = serve();
  const first = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await first.connect();
  await assert.rejects(first.connect(), /connected already/);
  await assert.rejects(first.start(), /connected already/);
  await first.shutdown();
  await using second = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await second.connect();
  assert.equal(await (await second.getQueue()).qsize(), 0);
});

Deno.test("BaseManager.register: checks the typeid, the callable and exposed; subclasses inherit", () => {
  class A extends BaseManager {}
  assert.throws(() => A.register("start"), /has a member of that name/);
  assert.throws(() => A.register("then"), /has a member of that name/);
  assert.throws(() => A.register("not an identifier"), /must be an identifier/);
  assert.throws(() => A.register("x", 5 as unknown as () => unknown), /must be a function/);
  assert.throws(
    () => A.register("x", undefined, { exposed: "put" as unknown as string[] }),
    TypeError,
  );
  assert.throws(() => A.register("x", undefined, { expose: [] } as unknown as object), /expose/);
  A.register("fromA");
  class B extends A {}
  B.register("fromB");
  const a = A.prototype as unknown as Record<string, unknown>;
  const b = B.prototype as unknown as Record<string, unknown>;
  assert.equal(typeof b.fromA, "function");
  assert.equal(typeof b.fromB, "function");
  assert.equal(Object.hasOwn(a, "fromB"), false);
  assert.throws(() => new BaseManager({ authkey: 1 as unknown as string }), TypeError);
  // The manager's members, BaseManager's and the subclass's own, cannot be replaced;
  // a typeid can be registered again.
  class C extends BaseManager {
    myMethod(): number {
      return 1;
    }
  }
  for (const name of ["connect", "address", "getServer", "shutdown", "toString", "myMethod"]) {
    assert.throws(() => C.register(name), /has a member of that name/, name);
  }
  assert.equal(new C().myMethod(), 1);
  C.register("fromA");
  C.register("fromA", () => new Map());
  // An exposed name that a proxy has itself is refused.
  for (const name of ["release", "callMethod", "typeid", "then", "constructor", "toString"]) {
    assert.throws(
      () => C.register("x", undefined, { exposed: ["get", name] }),
      new RegExp(`a proxy has a member '${name}' of its own`),
      name,
    );
  }
});

Deno.test("BaseManager and Python's managers do not talk (pickle): each side says so", async () => {
  const python = "python3";
  const script = `
import sys, queue
from multiprocessing.managers import BaseManager
class M(BaseManager): pass
q = queue.Queue()
M.register('get_queue', callable=lambda: q)
m = M(address=('127.0.0.1', 0), authkey=b'abc')
s = m.get_server()
print(s.address[1], flush=True)
s.serve_forever()
`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(python, {
      args: ["-c", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    console.log("NOTICE: python3 is not on this machine: the manager interop test is skipped");
    return;
  }
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  const manager = new ClosureManager({ address: ["127.0.0.1", Number(text)], authkey: "abc" });
  await assert.rejects(manager.connect(), /Python manager speaks pickle/);
  child.kill("SIGTERM");
  await child.status;
  await reader.cancel();

  // A Python client of a Deno manager: the server hangs up on it and goes on.
  await using s = serve();
  const [, port] = s.server.address as [string, number];
  const out = await new Deno.Command(python, {
    args: [
      "-c",
      `
from multiprocessing.managers import BaseManager
class M(BaseManager): pass
M.register('getQueue')
m = M(address=('127.0.0.1', ${port}), authkey=b'abc')
try:
    m.connect()
    m.getQueue()
    print("connected")
except Exception as e:
    print("refused", type(e).__name__)
`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /^refused/);
  await using client = new ClosureManager({ address: s.server.address, authkey: "abc" });
  await client.connect();
  assert.equal(await (await client.getQueue()).qsize(), 0);
});

Deno.test("BaseManager on a Unix socket: served and reached by its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "net-manager-" });
  try {
    const path = `${dir}/manager.sock`;
    const server = new ClosureManager({ address: path, authkey: "abc" }).getServer();
    assert.equal(server.address, path);
    const serving = server.serveForever();
    const manager = new ClosureManager({ address: path, authkey: "abc" });
    await manager.connect();
    assert.equal(await (await manager.getQueue()).qsize(), 0);
    await manager.shutdown();
    server.close();
    await serving;
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

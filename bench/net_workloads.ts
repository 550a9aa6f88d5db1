// The networking workloads on this project, run by compare.ts; their Python
// twins are in anchors/python_net.py. Every figure is the median of 5 runs.
//   deno run -A bench/net_workloads.ts          (prints one JSON row per workload)
//   deno run -A bench/net_workloads.ts 0.01     (the same at 1/100 of the size: a quick check)
// The echo servers are other OS processes, as Python's are: this program
// with "echo", or anchors/python_net.py with "echo". A bare Deno.Conn echo
// ("echo-bare", no package code on either side) gives the runtime's own floor
// for the same round trip.
import { type AutoProxy, BaseManager, Client, type Connection, Listener, Queue } from "../mod.ts";

const scale = Number(Deno.args[0] ?? 1);
const ROUND_TRIPS = Math.max(50, Math.round(20_000 * scale));
const BIG_ROUND_TRIPS = Math.max(5, Math.round(200 * scale));
const QUEUE_ITEMS = Math.max(50, Math.round(20_000 * scale));
const RUNS = 5;
const MESSAGE = new Uint8Array(100).fill(7);
const BIG = new Uint8Array(1 << 20).fill(7);
const AUTHKEY = "bench";

function report(workload: string, value: number, unit: string): void {
  console.log(JSON.stringify({ workload, value, unit }));
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** The echo server: answers every message with itself until the client leaves. */
async function echo(): Promise<void> {
  await using listener = new Listener(["127.0.0.1", 0], { authkey: AUTHKEY });
  console.log((listener.address as [string, number])[1]);
  using conn = await listener.accept();
  for (;;) {
    let message: Uint8Array;
    try {
      message = await conn.recvBytes();
    } catch {
      return;
    }
    await conn.sendBytes(message);
  }
}

/** The bare echo server: a Deno.Conn answering every read with its bytes. */
async function echoBare(): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  using conn = await listener.accept();
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    await conn.write(buffer.subarray(0, n));
  }
}

/** Starts an echo server process and connects to it (`authkey`: with a Client, else a bare Deno.Conn). */
async function echoServer(command: string, args: string[]): Promise<
  { conn: Connection; [Symbol.asyncDispose](): Promise<void> }
>;
async function echoServer(command: string, args: string[], bare: true): Promise<
  { conn: Deno.TcpConn; [Symbol.asyncDispose](): Promise<void> }
>;
async function echoServer(command: string, args: string[], bare = false) {
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${command} ${args.join(" ")} printed no port`);
    text += value;
  }
  const port = Number(text.trim());
  const conn = bare
    ? await Deno.connect({ hostname: "127.0.0.1", port })
    : await Client(["127.0.0.1", port], { authkey: AUTHKEY });
  if (bare) (conn as Deno.TcpConn).setNoDelay(true);
  return {
    conn,
    async [Symbol.asyncDispose]() {
      conn.close();
      await child.status;
      await reader.cancel();
    },
  };
}

/** µs per round trip of `size` bytes over a bare Deno.Conn, as roundTrips() measures. */
async function bareRoundTrips(conn: Deno.TcpConn, size: number, count: number): Promise<number> {
  const message = new Uint8Array(size).fill(7);
  const buffer = new Uint8Array(64 * 1024);
  const runs: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const t = performance.now();
    for (let i = 0; i < count; i++) {
      await conn.write(message);
      for (let got = 0; got < size;) got += (await conn.read(buffer)) ?? size;
    }
    if (run > 0) runs.push(((performance.now() - t) * 1000) / count);
  }
  return median(runs);
}

/** µs per round trip of `message`, medians of RUNS runs of `count` after a warm-up. */
async function roundTrips(conn: Connection, message: Uint8Array, count: number): Promise<number> {
  const runs: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const t = performance.now();
    for (let i = 0; i < count; i++) {
      const sending = conn.sendBytes(message);
      await conn.recvBytes();
      await sending;
    }
    if (run > 0) runs.push(((performance.now() - t) * 1000) / count); // run 0 warms up
  }
  return median(runs);
}

const here = new URL(".", import.meta.url);
const self = new URL("net_workloads.ts", here).pathname;
const python = new URL("anchors/python_net.py", here).pathname;

// ---- the manager's queue ----

const served = new Queue<number>();

/** The queue the manager serves (start() finds it by reference). */
export function getQueue(): Queue<number> {
  return served;
}

class QueueManager extends BaseManager {
  declare getQueue: () => Promise<AutoProxy<Queue<number>>>;
}
QueueManager.register("getQueue", getQueue);

/** Items/s: `count` puts then `count` gets through a proxy, `inFlight` calls at a time. */
async function managerQueue(q: AutoProxy<Queue<number>>, inFlight: number): Promise<number> {
  const runs: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const t = performance.now();
    for (const op of ["put", "get"] as const) {
      for (let i = 0; i < QUEUE_ITEMS; i += inFlight) {
        const calls = [];
        for (let j = i; j < Math.min(i + inFlight, QUEUE_ITEMS); j++) {
          calls.push(op === "put" ? q.put(j) : q.get());
        }
        await Promise.all(calls);
      }
    }
    if (run > 0) runs.push(QUEUE_ITEMS / ((performance.now() - t) / 1000));
  }
  return median(runs);
}

if (import.meta.main) {
  if (Deno.args[0] === "echo") {
    await echo();
  } else if (Deno.args[0] === "echo-bare") {
    await echoBare();
  } else {
    {
      // The same bytes as a framed 100-byte message: a 4-byte header and the payload.
      await using server = await echoServer(
        Deno.execPath(),
        ["run", "-A", self, "echo-bare"],
        true,
      );
      report("netRoundTripBare", await bareRoundTrips(server.conn, 104, ROUND_TRIPS), "us");
    }
    {
      await using server = await echoServer(Deno.execPath(), ["run", "-A", self, "echo"]);
      report("netRoundTrip", await roundTrips(server.conn, MESSAGE, ROUND_TRIPS), "us");
      report("netRoundTripBig", await roundTrips(server.conn, BIG, BIG_ROUND_TRIPS), "us");
    }
    try {
      await using server = await echoServer("python3", [python, "echo"]);
      report("netRoundTripPy", await roundTrips(server.conn, MESSAGE, ROUND_TRIPS), "us");
    } catch (error) {
      console.error(`Deno to Python skipped: ${(error as Error).message}`);
    }
    await using manager = new QueueManager({ authkey: AUTHKEY });
    await manager.start();
    const q = await manager.getQueue();
    report("managerQueue", await managerQueue(q, 1), "items/s");
    report("managerQueuePipelined", await managerQueue(q, 64), "items/s");
  }
}

// Port of seed 001 (001_73e7860a1e92ec40.txt), "server:进程池版socket并发聊天" and
// its client: an upper-casing chat server whose connections are served by a
// Pool of 4. Six clients connect at once: four are served, two wait until a
// worker is free, and only four worker ids ever answer.
//
// Python hands the accepted socket itself to the pool task. A Deno socket
// cannot move to another thread, so the main thread keeps the socket and
// relays its bytes through a Pipe; the task talks to the Connection as the
// seed's talk() talks to the socket. The seed's server runs forever and its
// clients read from the keyboard; here the program starts six clients that
// each send three lines, and shuts down when they are done.
//
//   deno run -A examples/pool_socket_server.ts
import { type Connection, currentProcess, EOFError, Pipe, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

/** Serves one client: echoes each message upper-cased until the client leaves. */
export async function talk(conn: Connection): Promise<void> {
  console.log(`进程pid: ${currentProcess().pid}`);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  while (true) {
    try {
      const msg = await conn.recvBytes(1024);
      conn.sendBytes(encoder.encode(decoder.decode(msg).toUpperCase()));
    } catch (error) {
      if (error instanceof EOFError) break; // the client is gone
      throw error;
    }
  }
  conn.close();
}

/** Relays bytes between a TCP connection and the main thread's end of a pipe. */
async function relay(socket: Deno.Conn, conn: Connection): Promise<void> {
  const toWorker = (async () => {
    const buffer = new Uint8Array(1024);
    for (let n; (n = await socket.read(buffer)) !== null;) conn.sendBytes(buffer, 0, n);
    conn.close(); // the client closed: talk() sees EOFError
  })();
  const toClient = (async () => {
    try {
      for (;;) await socket.write(await conn.recvBytes());
    } catch (error) {
      // The task closed its end, or this one is closed: nothing more to relay.
      if (!(error instanceof EOFError) && !conn.closed) throw error;
    }
  })();
  await Promise.all([toWorker, toClient]);
  socket.close();
}

/** The seed's client, with three lines of its own instead of input(). */
async function client(port: number, name: string): Promise<void> {
  const socket = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(1024);
  for (let i = 1; i <= 3; i++) {
    await socket.write(new TextEncoder().encode(`${name} says hello ${i}`));
    const n = await socket.read(buffer);
    console.log(`${name} got: ${new TextDecoder().decode(buffer.subarray(0, n ?? 0))}`);
    await sleep(1);
  }
  socket.close();
}

if (import.meta.main) {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addr as Deno.NetAddr;
  const p = new Pool(4);

  const clients = Array.from({ length: 6 }, (_, i) => client(port, `client${i + 1}`));
  const relays: Promise<void>[] = [];
  const serving = (async () => {
    for await (const socket of server) {
      const [mine, theirs] = Pipe();
      p.applyAsync(talk, [theirs]);
      theirs.close(); // the task holds its own handle now
      relays.push(relay(socket, mine));
    }
  })();

  await Promise.all(clients);
  await Promise.all(relays);
  server.close();
  await serving.catch(() => {}); // the accept loop ends when the listener closes
  p.close();
  await p.join();
  console.log("all clients served; server closed");
}

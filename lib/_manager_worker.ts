// The target of the Process that BaseManager.start() runs: a manager server
// on a thread of its own. Its callables arrive by reference (as task
// functions do) and are found among the exports of the main module and the
// `modules` the manager was given.

import { threadContext } from "./_context.ts";
import type { FunctionRef } from "./_function_ref.ts";
import { ManagerServer, type Registration } from "./_manager_server.ts";
import { toWireError, type WireError } from "./_remote_error.ts";
import type { SocketAddress } from "./_socket_address.ts";
import type { Queue } from "./queues.ts";

/** What the server's thread gets. */
export interface ServerSpec {
  address: SocketAddress | undefined;
  authkey: Uint8Array | undefined;
  registry: { typeid: string; callable: FunctionRef | null; exposed?: string[] }[];
}

/** What it answers once it listens (or failed to). */
export type ServerReady = { ok: true; address: SocketAddress } | { ok: false; error: WireError };

/** Serves a manager until a client asks it to shut down. */
export async function serveManagerThread(
  spec: ServerSpec,
  ready: Queue<ServerReady>,
): Promise<void> {
  let server: ManagerServer;
  try {
    const lookup = threadContext().lookup!;
    const registry = new Map<string, Registration>();
    for (const { typeid, callable, exposed } of spec.registry) {
      registry.set(typeid, {
        callable: callable ? await lookup(callable.name, callable.src) : undefined,
        exposed,
      });
    }
    server = new ManagerServer(registry, spec.address, spec.authkey);
  } catch (error) {
    await ready.put({ ok: false, error: toWireError(error) });
    return;
  }
  await ready.put({ ok: true, address: server.address });
  await server.serveForever();
}

// Addresses of Listeners, Clients and managers: [host, port] for TCP, a
// string for a Unix socket path, as in Python. Checked once, with messages
// that say what was wrong.

import { describeValue } from "./_timeout.ts";

/** `[host, port]` for TCP, or the path of a Unix socket. */
export type SocketAddress = [host: string, port: number] | string;

/** A checked address. */
export type ResolvedAddress =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/** The address a Listener takes when given none: any free port on the loopback. */
export const DEFAULT_ADDRESS: SocketAddress = ["127.0.0.1", 0];

/**
 * Checks an address. For a server (`listening`), the host "" means every
 * interface when there is an authkey and only 127.0.0.1 without one; for a
 * client, "" is 127.0.0.1.
 *
 * @throws {TypeError} For a value that is no address.
 * @throws {RangeError} For a port outside 0..65535 (0 only for a server).
 */
export function resolveAddress(
  address: unknown,
  action: string,
  listening: boolean,
  authenticated: boolean,
): ResolvedAddress {
  if (typeof address === "string") {
    if (address === "") {
      throw new TypeError(`Cannot ${action}: a Unix socket path must not be empty`);
    }
    return { transport: "unix", path: address };
  }
  if (!Array.isArray(address) || address.length !== 2 || typeof address[0] !== "string") {
    throw new TypeError(
      `Cannot ${action}: the address must be [host, port] or a Unix socket path, received ${
        describeValue(address)
      }`,
    );
  }
  const [host, port] = address as [string, unknown];
  if (typeof port !== "number") {
    throw new TypeError(
      `Cannot ${action}: the port must be a number, received ${describeValue(port)}`,
    );
  }
  const lowest = listening ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65535) {
    throw new RangeError(
      `Cannot ${action}: the port must be an integer from ${lowest} to 65535, received ${port}`,
    );
  }
  let hostname = host;
  if (host === "") hostname = listening && authenticated ? "0.0.0.0" : "127.0.0.1";
  return { transport: "tcp", hostname, port };
}

/** An address as the user reads it: "127.0.0.1:5000" or the path. */
export function describeAddress(address: ResolvedAddress | Deno.Addr): string {
  if (address.transport === "tcp" || address.transport === "udp") {
    const { hostname, port } = address as Deno.NetAddr;
    return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  }
  return (address as { path: string }).path;
}

/** The public form of an address: [host, port] or the path. */
export function publicAddress(address: Deno.Addr | ResolvedAddress): SocketAddress {
  if (address.transport === "tcp" || address.transport === "udp") {
    const { hostname, port } = address as Deno.NetAddr;
    return [hostname, port];
  }
  return (address as { path: string | null }).path ?? "";
}

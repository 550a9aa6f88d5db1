// What a Connection sends and receives through. A Connection is one class
// whatever carries its messages: a Pipe's end carries them through shared
// memory (_pipe_transport.ts), a Listener's or Client's through a socket
// (_socket_transport.ts). The Connection checks arguments and state; the
// transport moves the bytes.

import type { SharedReduction } from "./_shared_registry.ts";

/** One way of carrying a Connection's messages. */
export interface Transport {
  /** Whether this end can receive. */
  readonly readable: boolean;
  /** Whether this end can send. */
  readonly writable: boolean;
  /** Sends a value (the caller checked that it may). */
  send(value: unknown): Promise<void>;
  /** Sends bytes as one message, copied before this returns. */
  sendBytes(bytes: Uint8Array): Promise<void>;
  /** The next message as a value (a bytes message as a Uint8Array). */
  recv(): Promise<unknown>;
  /** The next message as bytes; a longer one than `maxlength` is a RangeError and stays unread. */
  recvBytes(maxlength: number | undefined): Promise<Uint8Array>;
  /** Whether something can be read (or end-of-file is there), waiting up to `ms` (undefined: no limit). */
  poll(ms: number | undefined): Promise<boolean>;
  /** Lets go of this end. */
  close(): void;
  /** The state that carries this end to another thread; throws where it cannot go. */
  share(): SharedReduction;
}

let pending: Transport | undefined;

/** Constructs a Connection-like class around `transport` (its constructor takes it with {@linkcode takeTransport}). */
export function withTransport<C>(Ctor: new () => C, transport: Transport): C {
  pending = transport;
  try {
    return new Ctor();
  } finally {
    pending = undefined;
  }
}

/** The transport of the Connection being constructed, if one is. */
export function takeTransport(): Transport | undefined {
  const transport = pending;
  pending = undefined;
  return transport;
}

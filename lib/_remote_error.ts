// Errors cross the wire as plain JSON-safe records and are rebuilt on the
// other side: built-in classes stay themselves, other classes keep their
// `name`, and the remote stack travels in `cause` (like CPython's pool, which
// attaches the remote traceback as __cause__).
import { RemoteError } from "./errors.ts";

/** An error as it travels between threads. */
export interface WireError {
  /** `true` when the thrown value was an Error; otherwise `value` holds it. */
  e: boolean;
  name?: string;
  message?: string;
  stack?: string;
  /** Own enumerable primitive properties such as `code`. */
  props?: Record<string, string | number | boolean | null>;
  value?: unknown;
}

/** The built-in error classes, which keep their class when rebuilt in another thread. */
export const BUILTIN_ERRORS: Record<
  string,
  new (message?: string, options?: ErrorOptions) => Error
> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Flattens a thrown value into a JSON-safe record. */
export function toWireError(thrown: unknown): WireError {
  if (!(thrown instanceof Error)) {
    const t = typeof thrown;
    const plain = thrown === null || t === "string" || t === "number" || t === "boolean";
    return { e: false, value: plain ? thrown : String(thrown) };
  }
  const props: Record<string, string | number | boolean | null> = {};
  for (const key of Object.keys(thrown)) {
    const v = (thrown as unknown as Record<string, unknown>)[key];
    if (key === "name" || key === "message" || key === "stack") continue;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) {
      props[key] = v as string | number | boolean | null;
    }
  }
  return {
    e: true,
    name: thrown.name,
    message: thrown.message,
    stack: thrown.stack ?? `${thrown.name}: ${thrown.message}`,
    props,
  };
}

/** Rebuilds a thrown value from its record, with the remote stack as cause. */
export function fromWireError(wire: WireError): unknown {
  if (!wire.e) return wire.value;
  const name = wire.name ?? "Error";
  const cause = new RemoteError(wire.stack ?? "");
  const Ctor = Object.hasOwn(BUILTIN_ERRORS, name) ? BUILTIN_ERRORS[name] : Error;
  const err = new Ctor(wire.message ?? "", { cause });
  if (err.name !== name) {
    Object.defineProperty(err, "name", { value: name, writable: true, configurable: true });
  }
  if (wire.props) Object.assign(err, wire.props);
  return err;
}

// Errors cross the wire as plain records and are rebuilt on the other side:
// built-in classes stay themselves, other classes keep their `name`, and the
// remote stack travels in `cause` (like CPython's pool, which attaches the
// remote traceback as __cause__). A thrown value that is not an Error travels
// as itself, with structured-clone fidelity as results do (the worker sends
// it by postMessage when JSON cannot carry it); see describeThrown() for one
// that cannot be cloned.
import { RemoteError } from "./errors.ts";
import { describeValue } from "./_timeout.ts";

/** An error as it travels between threads. */
export interface WireError {
  /** `true` when the thrown value was an Error; otherwise `value` holds it, as thrown. */
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

/**
 * Flattens a thrown value into a record: an Error into JSON-safe fields, any
 * other value kept as it is. Never throws, whatever was thrown (a getter or
 * `toString` that throws, a revoked Proxy...).
 */
export function toWireError(thrown: unknown): WireError {
  try {
    if (!(thrown instanceof Error)) return { e: false, value: thrown };
    const props: Record<string, string | number | boolean | null> = {};
    for (const key of Object.keys(thrown)) {
      if (key === "name" || key === "message" || key === "stack") continue;
      const v = (thrown as unknown as Record<string, unknown>)[key];
      if (v === null || ["string", "number", "boolean"].includes(typeof v)) {
        props[key] = v as string | number | boolean | null;
      }
    }
    const name = String(thrown.name);
    const message = String(thrown.message);
    const stack = thrown.stack;
    return {
      e: true,
      name,
      message,
      stack: typeof stack === "string" ? stack : `${name}: ${message}`,
      props,
    };
  } catch (error) {
    return describeThrown(thrown, error, "the task", "reading it threw");
  }
}

/**
 * The record for a thrown value that cannot be sent as it is (it cannot be
 * cloned, or reading it threw): a TypeError that describes it and says why.
 */
export function describeThrown(
  thrown: unknown,
  reason: unknown,
  who = "the task",
  problem = "it cannot be cloned",
): WireError {
  let why: string;
  try {
    why = reason instanceof Error ? `${reason.name}: ${reason.message}` : describeValue(reason);
  } catch {
    why = describeValue(reason);
  }
  const message = `Cannot send what ${who} threw to the main thread: ` +
    `${describeValue(thrown)}, and ${problem} (${why})`;
  return { e: true, name: "TypeError", message, stack: `TypeError: ${message}`, props: {} };
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

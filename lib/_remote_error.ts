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
  /** The error's own `cause` (an Error as a record, any other value as itself). */
  cause?: WireError;
  /** An AggregateError's `errors`. */
  errors?: WireError[];
  /** A DOMException (rebuilt as one, with its name). */
  dom?: boolean;
}

/** How deep causes and aggregated errors are followed (cycles end here too). */
const MAX_DEPTH = 8;
/** How many of an AggregateError's errors travel. */
const MAX_ERRORS = 100;

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
export function toWireError(thrown: unknown, depth = 0): WireError {
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
    const wire: WireError = {
      e: true,
      name,
      message,
      stack: typeof stack === "string" ? stack : `${name}: ${message}`,
      props,
    };
    if (depth < MAX_DEPTH) {
      // The task's own cause (fetch's "connection refused" is there) travels
      // too; a value that could not be cloned is described instead, so it
      // cannot cost the whole error.
      if ("cause" in thrown) wire.cause = causeRecord(thrown.cause, depth + 1);
      if (thrown instanceof AggregateError) {
        wire.errors = Array.from(thrown.errors as unknown[]).slice(0, MAX_ERRORS)
          .map((inner) => causeRecord(inner, depth + 1));
      }
    }
    if (typeof DOMException === "function" && thrown instanceof DOMException) wire.dom = true;
    return wire;
  } catch (error) {
    return describeThrown(thrown, error, "the task", "reading it threw");
  }
}

function causeRecord(value: unknown, depth: number): WireError {
  if (value instanceof Error) return toWireError(value, depth);
  try {
    structuredClone(value);
    return { e: false, value };
  } catch {
    return { e: false, value: describeValue(value) };
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

/**
 * Rebuilds a thrown value from its record. The error's `cause` is a
 * RemoteError holding the worker's stack; the task's own cause, if it had
 * one, is that RemoteError's `cause` (rebuilt the same way).
 */
export function fromWireError(wire: WireError): unknown {
  if (!wire.e) return wire.value;
  const name = wire.name ?? "Error";
  const message = wire.message ?? "";
  const cause = new RemoteError(wire.stack ?? "");
  if (wire.cause) {
    Object.defineProperty(cause, "cause", {
      value: fromWireError(wire.cause),
      writable: true,
      configurable: true,
    });
  }
  let err: Error;
  if (wire.dom && typeof DOMException === "function") {
    err = new DOMException(message, name);
    Object.defineProperty(err, "cause", { value: cause, writable: true, configurable: true });
  } else if (wire.errors) {
    err = new AggregateError(wire.errors.map(fromWireError), message, { cause });
  } else {
    const Ctor = Object.hasOwn(BUILTIN_ERRORS, name) ? BUILTIN_ERRORS[name] : Error;
    err = new Ctor(message, { cause });
  }
  if (err.name !== name) {
    Object.defineProperty(err, "name", { value: name, writable: true, configurable: true });
  }
  if (wire.props) {
    for (const [key, value] of Object.entries(wire.props)) {
      try {
        (err as unknown as Record<string, unknown>)[key] = value;
      } catch {
        // A read-only property of the rebuilt class (DOMException's code): it has its own.
      }
    }
  }
  return err;
}

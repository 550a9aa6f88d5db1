// Timeouts, read one way everywhere: milliseconds (like setTimeout and
// AbortSignal.timeout); `undefined`, `null` (Python's None) and `Infinity`
// wait forever; any finite value >= 0 works, however large; a negative or NaN
// value is a RangeError (Python raises ValueError for a negative timeout).
//
// setTimeout takes at most 2^31 - 1 ms: a longer delay fires at once (with a
// warning). So no delay past MAX_DELAY ever reaches it: longer waits chain
// timers (see after()).

/** The longest delay setTimeout takes (about 24.8 days). */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * Reads a timeout argument: the milliseconds to wait, or `undefined` for no
 * limit (`undefined`, `null` and `Infinity`).
 *
 * @param value What the caller passed.
 * @param action What was attempted, for the message: "Cannot <action>: ...".
 * @param name The argument's name.
 * @throws {RangeError} For a negative or NaN number.
 * @throws {TypeError} For anything but a number, `undefined` or `null`.
 */
export function timeoutMs(value: unknown, action: string, name = "timeout"): number | undefined {
  if (value === undefined || value === null || value === Infinity) return undefined;
  if (typeof value === "number" && value >= 0) return value;
  const message = `Cannot ${action}: '${name}' must be a non-negative number of ms or Infinity, ` +
    `received ${typeof value === "number" ? value : describeValue(value)}`;
  throw typeof value === "number" ? new RangeError(message) : new TypeError(message);
}

/**
 * Calls `fn` once `ms` milliseconds have passed, for any finite `ms` or
 * Infinity (never): delays past MAX_DELAY chain timers.
 *
 * @returns A function that cancels it.
 */
export function after(ms: number, fn: () => void): () => void {
  let left = ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const step = Math.min(left, MAX_DELAY);
    left -= step; // Infinity stays Infinity: re-armed for ever
    timer = setTimeout(() => left > 0 ? arm() : fn(), step);
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * A short description of any value for an error message; never throws (a
 * thrown or passed value may have a `toString` that throws, or none).
 */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return "a value that cannot be described"; // a revoked Proxy, say
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    case "function":
      return `a function${value.name ? ` '${value.name}'` : ""}`;
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of ${value.length}`;
      let kind = Object.prototype.toString.call(value).slice(8, -1);
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)
        ?.constructor?.name;
      if (typeof name === "string" && name !== "" && name !== "Object") kind = name;
      return `an object (${kind})`;
    }
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    default:
      return String(value);
  }
}

// The shared-memory fast path carries messages as JSON text, which is ~30x
// cheaper than Deno's structured clone for small values. JSON loses types, so
// a value takes that path only when JSON round-trips it exactly; anything else
// (undefined, -0, NaN, Date, Map, typed arrays, holes, class instances, deep or
// cyclic graphs) goes through postMessage and keeps structured-clone fidelity.

const MAX_DEPTH = 32;

/** Whether `JSON.parse(JSON.stringify(value))` reproduces `value` exactly. */
export function isJsonSafe(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          // A hole reads as undefined, which JSON would turn into null.
          if (!isJsonSafe(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (key === "__proto__" || key === "toJSON") return false;
        if (!isJsonSafe((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

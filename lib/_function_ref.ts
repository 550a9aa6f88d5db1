// Task functions travel by reference, as pickle sends functions: the main
// thread sends a function's name and source text, and the worker finds the
// export with that source among the modules it imported. This works whatever
// name the function is exported under, and it never needs the main thread to
// import its own main module (which would deadlock under top-level await).

/** How a task function is named on the wire. */
export interface FunctionRef {
  readonly id: number;
  readonly name: string;
  readonly src: string;
}

const refs = new WeakMap<object, FunctionRef>();
let nextId = 1;

// A function declaration (sync, async or generator) is the only form that can
// be looked up by reference; arrow functions, methods, classes and bound or
// native functions cannot.
const DECLARATION = /^(async\s+)?function\b/;

/**
 * Checks that `fn` can be sent by reference and returns its reference.
 * Throws the TypeError that tells the user how to fix it.
 */
export function functionRef(fn: unknown, role: string): FunctionRef {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot submit ${role}: expected an exported function, received ${describe(fn)}`,
    );
  }
  const cached = refs.get(fn);
  if (cached) return cached;
  const src = Function.prototype.toString.call(fn);
  const label = fn.name ? `'${fn.name}'` : "an anonymous function";
  const native = src.endsWith("{ [native code] }");
  if (!fn.name || native || !DECLARATION.test(src)) {
    const kind = native
      ? "a bound or native function"
      : DECLARATION.test(src)
      ? "anonymous"
      : "an arrow function, method or class";
    throw new TypeError(
      `Cannot submit ${role}: ${label} is ${kind}; task functions travel by reference, so ` +
        `declare it as 'export function name(...) {}' in the main module or in a module ` +
        `listed in 'modules'`,
    );
  }
  const ref = { id: nextId++, name: fn.name, src };
  refs.set(fn, ref);
  return ref;
}

/**
 * Finds the exported function with this name and source in `namespaces`
 * (worker side). Throws a TypeError naming the function when none matches.
 */
export function resolveFunction(
  name: string,
  src: string,
  namespaces: { url: string; exports: Record<string, unknown> }[],
): (...args: unknown[]) => unknown {
  for (const { exports } of namespaces) {
    const direct = exports[name];
    if (typeof direct === "function" && Function.prototype.toString.call(direct) === src) {
      return direct as (...args: unknown[]) => unknown;
    }
  }
  // Exported under another name (`export { work as job }`).
  for (const { exports } of namespaces) {
    for (const value of Object.values(exports)) {
      if (typeof value === "function" && Function.prototype.toString.call(value) === src) {
        return value as (...args: unknown[]) => unknown;
      }
    }
  }
  const where = namespaces.length === 0
    ? "any module (the worker knows no main module, and 'modules' is empty)"
    : namespaces.map((n) => n.url).join(", ");
  throw new TypeError(
    `Cannot run task: function '${name}' is not exported from ${where}; a task function must ` +
      `be exported from the main module or from a module listed in 'modules'. If '${name}' is ` +
      `imported from another module, add that module to 'modules'; if it is nested in ` +
      `another function, move it to the top level as 'export function ${name}(...)'`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `the string "${value.slice(0, 40)}"`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

// Options bags, checked one way everywhere: an option name nobody reads is a
// mistake (`{ proceses: 2 }`, `{ timout: 5 }`, Python's `error_callback`),
// and silently ignoring it leaves the user with the default and no clue. So
// an unknown name is a TypeError that names it and the closest known one.

import { describeValue } from "./_timeout.ts";

/**
 * Throws unless `options` is an object whose enumerable keys are all in
 * `known`. Cheap enough for hot paths (no allocation when the keys are known).
 *
 * @param options The options bag the caller passed.
 * @param known The option names the callee reads.
 * @param action What was attempted, for the message: "Cannot <action>: ...".
 * @throws {TypeError} For a non-object, or an unknown option name.
 */
export function checkOptions(options: unknown, known: readonly string[], action: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `Cannot ${action}: 'options' must be an object, received ${describeValue(options)}`,
    );
  }
  for (const key in options) {
    if (!known.includes(key)) throw unknownOption(key, known, action);
  }
}

/**
 * Checks `{ block, timeout }` options (locks and queues), unrolled: they are
 * passed on hot paths.
 *
 * @throws {TypeError} For a non-object, or another option name.
 */
export function checkWaitOptions(options: object, action: string): void {
  if (typeof options !== "object" || options === null) checkOptions(options, WAIT, action);
  for (const key in options) {
    if (key !== "block" && key !== "timeout") throw unknownOption(key, WAIT, action);
  }
}

const WAIT = ["block", "timeout"];

function unknownOption(key: string, known: readonly string[], action: string): TypeError {
  const match = closest(key, known);
  const hint = match !== undefined
    ? `did you mean '${match}'?`
    : `the options are ${known.map((k) => `'${k}'`).join(", ")}`;
  return new TypeError(`Cannot ${action}: unknown option '${key}'; ${hint}`);
}

/**
 * The known name nearest to `key` (case and underscores aside, so Python's
 * spellings find theirs), if it is near enough to be a slip.
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll("_", "");
  const k = norm(key);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(k.length / 3)) + 1;
  for (const name of known) {
    const d = editDistance(k, norm(name));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

// The command line's own argument parser. node:util's parseArgs reads
// `--depth -1` as a missing value followed by an unknown option `-1`, and its
// messages are several lines long; here a value option always takes the next
// argument, and every mistake is one short line.

/** A mistake on the command line: reported in one line, with exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Which options exist. */
export interface ArgSpec {
  /** Options that take a value: `--name VALUE` or `--name=VALUE`. */
  values: string[];
  /** Value options that may be repeated (their values are collected). */
  repeatable?: string[];
  /** Options without a value. */
  flags: string[];
  /** Single-letter aliases of flags, e.g. `{ h: "help" }`. */
  short?: Record<string, string>;
}

/** Parsed arguments. */
export interface ParsedArgs {
  values: Record<string, string | undefined>;
  repeated: Record<string, string[]>;
  flags: Record<string, boolean>;
  positionals: string[];
}

/**
 * Parses `args` against `spec`.
 * @throws {UsageError} For an unknown option, a missing value, or a value given to a flag.
 */
export function parseArgs(args: string[], spec: ArgSpec): ParsedArgs {
  const values = new Set(spec.values);
  const repeatable = new Set(spec.repeatable ?? []);
  const flags = new Set(spec.flags);
  const parsed: ParsedArgs = { values: {}, repeated: {}, flags: {}, positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      parsed.positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const equals = arg.indexOf("=");
      const name = arg.slice(2, equals < 0 ? undefined : equals);
      if (flags.has(name)) {
        if (equals >= 0) throw new UsageError(`--${name} takes no value, got '${arg}'`);
        parsed.flags[name] = true;
      } else if (values.has(name) || repeatable.has(name)) {
        let value: string;
        if (equals >= 0) value = arg.slice(equals + 1);
        else if (i + 1 < args.length) value = args[++i];
        else throw new UsageError(`--${name} needs a value`);
        if (repeatable.has(name)) (parsed.repeated[name] ??= []).push(value);
        else parsed.values[name] = value;
      } else {
        throw new UsageError(`unknown option '--${name}'`);
      }
    } else if (arg.startsWith("-") && arg !== "-") {
      const long = spec.short?.[arg.slice(1)];
      if (!long) throw new UsageError(`unknown option '${arg}'`);
      parsed.flags[long] = true;
    } else {
      parsed.positionals.push(arg);
    }
  }
  return parsed;
}

// Which frontier a crawl uses: the `state` option (--state) read and checked,
// and the frontier opened. The SQLite and Redis modules are imported only when
// asked for, so an in-memory crawl loads neither (nor the Redis client).

import { type Frontier, type FrontierConfig, StateUsageError } from "./_frontier.ts";
import { MemoryFrontier } from "./_frontier_memory.ts";

/** Where the state is. */
export type StateSpec =
  | { kind: "memory" }
  | { kind: "sqlite"; path: string }
  | { kind: "redis"; url: string; host: string; port: number; db: number; job: string };

/** The longest job name: it is part of every key. */
const MAX_JOB_LENGTH = 200;

/**
 * Reads a `state` value: a SQLite file path, or redis://HOST:PORT[/DB].
 * @throws {StateUsageError} Saying what is wrong and what is expected.
 */
export function parseState(state: string | undefined, job: string | undefined): StateSpec {
  if (state === undefined) {
    if (job !== undefined) throw new StateUsageError("job needs a redis:// state");
    return { kind: "memory" };
  }
  if (typeof state !== "string" || state === "") {
    throw new StateUsageError("state needs a SQLite file path or redis://HOST:PORT[/DB]");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(state);
  // "redis:127.0.0.1:6379" or "redis:/host" is a Redis URL mistyped, not a
  // file to create in the current directory.
  if (!scheme && /^redis:/i.test(state)) {
    throw new StateUsageError(
      `state '${state}' is not of the form redis://HOST:PORT[/DB] (for a file of that name, write ./${state})`,
    );
  }
  if (!scheme) {
    if (job !== undefined) {
      throw new StateUsageError(
        "job names a crawl in Redis; a SQLite state file holds one crawl (use another file)",
      );
    }
    return { kind: "sqlite", path: state };
  }
  if (scheme[1].toLowerCase() !== "redis") {
    throw new StateUsageError(
      `state '${state}': unknown scheme '${
        scheme[1]
      }:'; give a SQLite file path or redis://HOST:PORT[/DB]`,
    );
  }
  // Credentials would be shown in every message and are not sent: refused
  // rather than read as part of the port.
  if (/^redis:\/\/[^/]*@/i.test(state)) {
    throw new StateUsageError(
      `state '${state}': a user name or password is not supported; give redis://HOST:PORT[/DB] of a server without AUTH`,
    );
  }
  // An IPv6 host is bracketed ([::1]); tried first, and brackets are not part
  // of a plain host, so "[::1]:6379" is not read as host "[" and port ":1]:6379".
  const match = /^redis:\/\/(\[[0-9a-f:.]+\]|[^/:@\s[\]]+)(?::([^/]*))?(?:\/([^/]*))?$/i.exec(
    state,
  );
  if (!match) {
    throw new StateUsageError(`state '${state}' is not of the form redis://HOST:PORT[/DB]`);
  }
  const [, host, rawPort = "6379", rawDb = "0"] = match;
  const port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new StateUsageError(
      `state '${state}': the port must be an integer from 1 to 65535, got '${rawPort}'`,
    );
  }
  const db = /^\d{1,9}$/.test(rawDb || "0") ? Number(rawDb || "0") : NaN;
  if (!Number.isSafeInteger(db)) {
    throw new StateUsageError(
      `state '${state}': the database must be a number (0 to 15 on a default server), got '${rawDb}'`,
    );
  }
  const name = job ?? "crawl";
  checkJob(name);
  return {
    kind: "redis",
    url: `redis://${host}:${port}/${db}`,
    host: host.replace(/^\[|\]$/g, ""),
    port,
    db,
    job: name,
  };
}

/** A job name is 1 to 200 printable characters (it is shown in messages and is part of keys). */
function checkJob(job: string): void {
  if (
    typeof job !== "string" || job.length === 0 || job.length > MAX_JOB_LENGTH ||
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(job)
  ) {
    throw new StateUsageError(
      `job must be 1 to ${MAX_JOB_LENGTH} printable characters, got ${JSON.stringify(job)}`,
    );
  }
}

/** What openFrontier() needs. */
export interface OpenOptions {
  state: string | undefined;
  job: string | undefined;
  fresh: boolean;
  warn: (message: string) => void;
  config: FrontierConfig;
}

/** Opens the frontier a crawl's options name (a fresh one discards the saved state first). */
export async function openFrontier(options: OpenOptions): Promise<Frontier> {
  const spec = parseState(options.state, options.job);
  if (spec.kind === "memory") {
    if (options.fresh) throw new StateUsageError("fresh needs a state");
    return new MemoryFrontier(options.config);
  }
  if (spec.kind === "sqlite") {
    const { SqliteFrontier } = await import("./_frontier_sqlite.ts");
    return SqliteFrontier.open(spec.path, options.config, options.fresh);
  }
  const { RedisFrontier } = await import("./_frontier_redis.ts");
  return await RedisFrontier.open(spec, options.config, options.fresh, options.warn);
}

// The frontier in Redis (--state redis://HOST:PORT[/DB] --job NAME): every
// process started with the same state and job, on any machine, works on the
// same crawl. The data and the algorithm are in _frontier_redis_lua.ts; each
// operation is one script call, so one round trip per step.
//
// The client is node-redis (@redis/client, no dependencies). It was measured
// against ioredis on this frontier's hot call (a script taking a batch of ten
// links): sequential calls 138-158 µs against ioredis' 122-136 µs, and the
// same ~95 µs with 8 calls in flight. The step loop makes one call at a time,
// so ioredis would save ~15 µs a step; node-redis was kept for being the
// project's own client with no dependencies (ioredis 6 has six).
//
// Redis down: a call that fails for want of a connection is tried again every
// 250 ms, with a message, for as long as this process's leases last (--lease):
// past that, other processes may have taken its URLs, so it stops with an
// error. Nothing is lost: committed records stay in Redis until acknowledged.

import { createClient } from "@redis/client";
import {
  type Delivery,
  type Done,
  type Frontier,
  type FrontierConfig,
  hostOf,
  type Job,
  jobKey,
  type Opened,
  recordCounts,
  type RobotsVerdict,
  StateError,
  StateUsageError,
  type StepRequest,
  type StepResult,
  type Totals,
  totalsFrom,
} from "./_frontier.ts";
import { FRONTIER_LUA } from "./_frontier_redis_lua.ts";
import { currentRun, isAlive, type RunIdentity } from "./_run_identity.ts";
import type { StateSpec } from "./_state.ts";
import type { CrawlRecord } from "./crawl.ts";

type RedisSpec = Extract<StateSpec, { kind: "redis" }>;
/** The few commands this frontier sends, all through sendCommand (no command-specific API). */
interface Client {
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
}

/** How often a call is tried again while Redis cannot be reached. */
const RETRY_MS = 250;
/** How long the first connection may take before the state is called unreachable. */
const CONNECT_MS = 5_000;

/** The key prefix of a job: "dmp-crawl:{JOB}:", JOB with every byte but [A-Za-z0-9._-] as %XX. */
export function keyPrefix(job: string): string {
  const encoded = [...new TextEncoder().encode(job)].map((byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9._-]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
  return `dmp-crawl:{${encoded}}:`;
}

/**
 * Why connecting failed, in words. The server may answer and still refuse:
 * SELECT of a database it does not have, or a password it asks for; asking
 * whether redis-server runs there would then mislead.
 */
function connectFailure(spec: RedisSpec, error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/DB index is out of range/i.test(text)) {
    return `state '${spec.url}': the server has no database ${spec.db} (${text}); give a database from 0 to its 'databases' setting minus 1 (0 to 15 by default)`;
  }
  if (/NOAUTH|WRONGPASS|auth/i.test(text)) {
    return `state '${spec.url}': the server asks for a password; --state supports only servers without AUTH`;
  }
  return `state '${spec.url}': cannot connect to Redis (${
    reasonOf(error)
  }); is redis-server running there?`;
}

/** Whether `error` means "no connection" (worth waiting for) rather than an error reply. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof StateError) return false;
  // Replies from the server (a script error, OOM...) are ErrorReply & co.
  if (/Reply|SimpleError|BlobError/.test(error.constructor.name)) return false;
  return /Closed|Offline|Socket|Timeout|Connection|Reconnect/i.test(error.constructor.name) ||
    /ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|closed|offline|socket|connection/i.test(error.message);
}

function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused";
  if (/closed|ECONNRESET|socket/i.test(text)) return `connection lost (${text})`;
  if (/offline/i.test(text)) return "not connected";
  return text;
}

/** An entry of a job for the script: key, host of its hop, origin (pages), JSON. */
function entry(job: Job, withOrigin: boolean) {
  return {
    k: jobKey(job),
    h: hostOf(job.hop),
    ...(withOrigin && job.kind === "page" ? { o: new URL(job.hop).origin } : {}),
    j: JSON.stringify(job),
  };
}

function counts(record: CrawlRecord, reason: Done["robotsBlock"]) {
  return recordCounts(record, reason);
}

/** Lua's cjson writes an empty table as {}: read it as an empty array. */
function list<T>(value: T[] | Record<string, never> | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

/** The frontier in Redis. */
export class RedisFrontier implements Frontier {
  readonly durable = true;
  readonly shared = true;
  readonly where: string;
  readonly #client: Client;
  readonly #prefix: string;
  readonly #config: FrontierConfig;
  readonly #warn: (message: string) => void;
  readonly #token = crypto.randomUUID();
  readonly #identity: RunIdentity = currentRun();
  #sha = "";
  #writer = "";
  #stepId = 0;
  #closed = false;

  private constructor(
    spec: RedisSpec,
    client: Client,
    config: FrontierConfig,
    warn: (message: string) => void,
  ) {
    this.where = `${spec.url} (job ${JSON.stringify(spec.job)})`;
    this.#client = client;
    this.#prefix = keyPrefix(spec.job);
    this.#config = config;
    this.#warn = warn;
  }

  /** Connects (a server that does not answer now is a usage error); `fresh` deletes the job's keys first. */
  static async open(
    spec: RedisSpec,
    config: FrontierConfig,
    fresh: boolean,
    warn: (message: string) => void,
  ): Promise<RedisFrontier> {
    let connected = false;
    const client = createClient({
      url: spec.url,
      // Calls made while disconnected fail at once: RedisFrontier#call waits
      // and tries again, saying so, within the lease.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_MS,
        reconnectStrategy: (
          retries: number,
        ) => (connected ? Math.min(50 * 2 ** retries, 500) : false),
      },
    });
    // Without a listener an error event would end the process.
    client.on("error", () => {});
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      client.destroy();
      throw new StateUsageError(connectFailure(spec, error));
    }
    const frontier = new RedisFrontier(spec, client as unknown as Client, config, warn);
    try {
      frontier.#sha = String(await client.sendCommand(["SCRIPT", "LOAD", FRONTIER_LUA]));
      if (fresh) await frontier.#fresh();
    } catch (error) {
      client.destroy();
      if (error instanceof StateError) throw error;
      throw new StateUsageError(`state '${spec.url}': ${reasonOf(error)}`);
    }
    return frontier;
  }

  /** Runs the script once (loading it again after a server restart emptied its cache). */
  async #script(op: string, argument: unknown): Promise<string> {
    const json = JSON.stringify(argument);
    try {
      return String(
        await this.#client.sendCommand(["EVALSHA", this.#sha, "1", this.#prefix, op, json]),
      );
    } catch (error) {
      if (!/NOSCRIPT/.test(String(error))) throw error;
      return String(
        await this.#client.sendCommand(["EVAL", FRONTIER_LUA, "1", this.#prefix, op, json]),
      );
    }
  }

  /**
   * Runs `fn`, waiting out a lost connection: tried again every 250 ms with a
   * message, until the lease runs out; then a StateError.
   */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let since: number | undefined;
    let reason = "";
    for (;;) {
      try {
        const result = await fn();
        if (since !== undefined) {
          this.#warn(
            `Redis at ${this.where} is back after ${
              ((performance.now() - since) / 1000).toFixed(1)
            } s; the crawl goes on`,
          );
        }
        return result;
      } catch (error) {
        if (error instanceof StateError) throw error;
        if (!isConnectionError(error) || this.#closed) {
          throw new StateError(
            `the crawl's state in Redis at ${this.where} failed (${what}): ${reasonOf(error)}`,
            {
              cause: error,
            },
          );
        }
        if (since === undefined) reason = reasonOf(error);
        const now = performance.now();
        if (since === undefined) {
          since = now;
          this.#warn(
            `Redis at ${this.where} cannot be reached (${reason}); trying again for up to ${
              (this.#config.leaseMs / 1000).toFixed(1)
            } s (--lease)`,
          );
        }
        if (now - since >= this.#config.leaseMs) {
          throw new StateError(
            `lost Redis at ${this.where} for ${
              ((now - since) / 1000).toFixed(1)
            } s, longer than --lease (${this.#config.leaseMs} ms): ${reason}. ` +
              `What was recorded is kept (in --out, and in Redis until written); run the same command again once Redis is back to resume`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Runs of this crawl on this machine whose process is gone. */
  async #deadRuns(): Promise<string[]> {
    const tokens =
      (await this.#client.sendCommand(["ZRANGE", `${this.#prefix}runs`, "0", "-1"])) as string[];
    const dead: string[] = [];
    for (const token of tokens) {
      const [machine, hostname, pid, started] = (await this.#client.sendCommand([
        "HMGET",
        `${this.#prefix}run:${token}`,
        "machine",
        "hostname",
        "pid",
        "started",
      ])) as (string | null)[];
      const run = {
        machine: machine ?? "",
        hostname: hostname ?? "",
        pid: Number(pid),
        started: started ?? "",
      };
      if (isAlive(run) === false) dead.push(token);
    }
    return dead;
  }

  async #fresh(): Promise<void> {
    const dead = await this.#deadRuns();
    const { live } = JSON.parse(
      await this.#script("fresh", { token: this.#token, dead, config: this.#config }),
    );
    if (list(live).length > 0) {
      throw new StateUsageError(
        `state '${this.where}' is in use by ${live.length} running process(es) (pid ${
          live.join(", ")
        }); stop them before --fresh`,
      );
    }
    let cursor = "0";
    do {
      const [next, keys] = (await this.#client.sendCommand([
        "SCAN",
        cursor,
        "MATCH",
        `${this.#prefix}*`,
        "COUNT",
        "1000",
      ])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await this.#client.sendCommand(["UNLINK", ...keys]);
    } while (cursor !== "0");
  }

  #configArg() {
    const c = this.#config;
    return {
      ...c,
      maxPages: Number.isFinite(c.maxPages) ? c.maxPages : Number.MAX_SAFE_INTEGER,
    };
  }

  async open(writer: string | undefined): Promise<Opened> {
    return await this.#call("open", async () => {
      const dead = await this.#deadRuns();
      const result = JSON.parse(
        await this.#script("open", {
          token: this.#token,
          identity: this.#identity,
          dead,
          config: this.#configArg(),
          ...(writer === undefined ? {} : { writer }),
        }),
      );
      if (result.busy) {
        throw new StateUsageError(
          `output '${writer}' is being written by another process of this crawl (${result.busy}); give each process its own --out`,
        );
      }
      this.#writer = result.writer;
      const redeliver: Delivery[] = list<[number, string]>(result.redeliver).map(([seq, json]) => ({
        seq,
        record: JSON.parse(json),
      }));
      return {
        checkpoint: result.checkpoint === undefined || result.checkpoint < 0
          ? undefined
          : result.checkpoint,
        redeliver,
        waiting: list<[string, number]>(result.waiting)
          .map(([output, records]) => ({ output, records }))
          .sort((a, b) => a.output < b.output ? -1 : 1),
      };
    });
  }

  async step(request: StepRequest): Promise<StepResult> {
    const argument = {
      id: `${++this.#stepId}`,
      token: this.#token,
      writer: this.#writer,
      config: this.#configArg(),
      add: request.add.map((job) => entry(job, true)),
      done: request.done.map((done) => ({
        k: done.key,
        ...(done.record
          ? { r: JSON.stringify(done.record), c: counts(done.record, done.robotsBlock) }
          : {}),
        links: done.links.map((job) => entry(job, true)),
        blocked: done.blocked.map(({ record, reason }) => ({
          u: record.url,
          r: JSON.stringify(record),
          c: counts(record, reason),
        })),
        ...(done.robots
          ? {
            robots: {
              origin: done.robots.origin,
              host: new URL(done.robots.origin).host,
              verdict: JSON.stringify(done.robots.verdict),
              delay: done.robots.crawlDelayMs,
            },
          }
          : {}),
      })),
      requeue: request.requeue.map((r) => ({
        ...entry(r.job, true),
        delay: r.delayMs,
        retry: r.retry,
      })),
      release: request.release,
      ...(request.ack
        ? {
          ack: {
            seq: request.ack.seq,
            ...(request.ack.checkpoint === undefined ? {} : { checkpoint: request.ack.checkpoint }),
          },
        }
        : {}),
      take: request.take,
    };
    const result = JSON.parse(await this.#call("step", () => this.#script("step", argument)));
    if (result.lost) {
      throw new StateError(
        `this process was given up by the crawl in ${this.where}: it could not renew its leases for longer than --lease (${this.#config.leaseMs} ms), and its URLs went to other processes; run it again to resume`,
      );
    }
    return {
      done: list<[number, number[] | Record<string, never>]>(result.done).map(([seq, blocked]) => ({
        seq,
        blocked: list(blocked),
      })),
      duplicates: result.dup ?? 0,
      taken: list<string>(result.taken).map((json) => JSON.parse(json)),
      adopted: list<[number, string]>(result.adopted).map(([seq, json]) => ({
        seq,
        record: JSON.parse(json),
      })),
      waitMs: result.wait ?? null,
      queued: result.queued,
      leased: result.leased,
    };
  }

  async verdicts(origins: string[]): Promise<(RobotsVerdict | undefined)[]> {
    if (origins.length === 0) return [];
    const values = (await this.#call(
      "verdicts",
      () => this.#client.sendCommand(["HMGET", `${this.#prefix}origin`, ...origins]),
    )) as (
      | string
      | null
    )[];
    return values.map((value) => (value ? JSON.parse(value) : undefined));
  }

  async totals(): Promise<Totals> {
    const [flat, leased] = await this.#call("totals", async () =>
      [
        (await this.#client.sendCommand(["HGETALL", `${this.#prefix}counts`])) as unknown,
        Number(await this.#client.sendCommand(["HLEN", `${this.#prefix}lease`])),
      ] as const);
    const counts = new Map<string, number>();
    const pairs = Array.isArray(flat)
      ? Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])
      : Object.entries(flat as Record<string, string>);
    for (const [key, value] of pairs) counts.set(String(key), Number(value));
    return totalsFrom(counts, {
      seen: counts.get("frontier:seen") ?? 0,
      queued: counts.get("frontier:queued") ?? 0,
      leased,
    });
  }

  abandon(): Job[] {
    return [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // One try, no waiting: a process that cannot say goodbye is released by its lease.
      if (this.#writer) await this.#script("close", { token: this.#token, config: this.#config });
    } catch {
      // See above.
    } finally {
      this.#client.destroy();
    }
  }
}

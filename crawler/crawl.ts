/**
 * `crawl(urls, options)`: the crawler as a library. It fetches on a `Pool`
 * (one request per task, like the seed's `apply_async(get_page, ...)`), while
 * the main thread schedules: robots.txt, retries, redirects and records, over
 * a frontier (the URLs seen, queued and taken, per-host politeness) kept in
 * memory, in a SQLite file or in Redis (the `state` option), so that per-host
 * limits hold across every worker, and with a state across every process.
 *
 * Against hostile servers: every request is http(s), robots.txt included;
 * each request's connection, headers, body and parse stay inside
 * `timeoutMs`; bodies are cut at `maxBytes` (after decompression); a server
 * may make the crawler wait at most 60 s (Retry-After, Crawl-delay). See
 * docs/crawler.md.
 *
 * @module
 */
import { Pool } from "../mod.ts";
import type { FetchOutcome, FetchTaskOptions } from "./_fetch_task.ts";
import {
  type Delivery,
  type Done,
  type Job,
  jobKey,
  type PageJob,
  type Requeue,
  type RobotsJob,
  type RobotsVerdict,
  type StepRequest,
  type StepResult,
} from "./_frontier.ts";
import { openFrontier } from "./_state.ts";
import { extractPage } from "./_html.ts";
import {
  clip,
  describeRange,
  inRange,
  LIMITS,
  MAX_MESSAGE_URL_CHARS,
  MAX_SERVER_WAIT_MS,
} from "./_limits.ts";
import { checkOptions } from "../lib/_options.ts";
import { ParseDeadlineError } from "./_parser.ts";
import { select, type Selector } from "./_select.ts";
import { setSafeTimeout } from "./_timer.ts";
import { shown } from "./_terminal.ts";
import { inScope, normalizeUrl, type Scope } from "./_url.ts";
import { RobotsTxt } from "./robots.ts";

export type { Scope } from "./_url.ts";
export type { Selector } from "./_select.ts";

/**
 * One record per requested URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crawl, type CrawlRecord } from "./crawl.ts";
 * const pages: Record<string, string> = {
 *   "/": `<title>Home</title><a href="/about">About</a>`,
 *   "/about": `<title>About</title>`,
 * };
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   new Response(pages[new URL(request.url).pathname], { headers: { "content-type": "text/html" } }));
 * const home = `http://127.0.0.1:${server.addr.port}/`;
 * const records: CrawlRecord[] = await Array.fromAsync(crawl([home], { processes: 1, robots: false }));
 * await server.shutdown();
 * assert.equal(records[0].status, 200);
 * assert.deepEqual(records[0].links, [`${home}about`]);
 * ```
 */
export interface CrawlRecord {
  /** The URL requested (normalised). */
  url: string;
  /** The URL the last redirect led to (or `url`). */
  finalUrl: string;
  /** HTTP status of the last response; 0 when none came. */
  status: number;
  /** The Content-Type header, if any. */
  contentType: string | null;
  /** The encoding an HTML page was decoded with (a WHATWG name such as "utf-8" or "gbk"), else null. */
  encoding: string | null;
  /** document.title of an HTML page, else null. */
  title: string | null;
  /** Absolute http(s) links of an HTML page, without fragments, each once. */
  links: string[];
  /** Body bytes read (after content decoding, at most `maxBytes`). */
  bytes: number;
  /** Link depth from the start URL. */
  depth: number;
  /** Time from the first request to the record. */
  elapsedMs: number;
  /** Why the page failed, only on failure. */
  error?: string;
  /** `--select` fields. */
  fields?: Record<string, string | null>;
}

/**
 * Options of {@linkcode crawl}; each has the default of the CLI flag of the
 * same name. Numbers outside their range (see docs/crawler.md) throw a RangeError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crawl, type CrawlOptions } from "./crawl.ts";
 * const pages: Record<string, string> = {
 *   "/": `<title>Home</title><a href="/about">About</a>`,
 *   "/about": `<title>About</title>`,
 * };
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   new Response(pages[new URL(request.url).pathname], { headers: { "content-type": "text/html" } }));
 * const home = `http://127.0.0.1:${server.addr.port}/`;
 * const options: CrawlOptions = { depth: 0, processes: 1, robots: false, timeoutMs: 5_000 };
 * const records = await Array.fromAsync(crawl([home], options));
 * await server.shutdown();
 * assert.equal(records.length, 1); // depth 0: the start page only
 * ```
 */
export interface CrawlOptions {
  /** Link depth to follow; 0 fetches only the given URLs. @default {0} */
  depth?: number;
  /** Most records (requested URLs) in all. */
  maxPages?: number;
  /** Pool workers. @default {cpuCount()} */
  processes?: number;
  /** Requests in flight. @default {16} */
  concurrency?: number;
  /** Requests in flight per host. @default {2} */
  perHost?: number;
  /** Least milliseconds between two requests to one host (a robots.txt Crawl-delay raises it). @default {0} */
  delayMs?: number;
  /** Per-request timeout, parsing included. @default {30000} */
  timeoutMs?: number;
  /** Retries of network errors and 408/429/5xx-like statuses. @default {2} */
  retries?: number;
  /** Body bytes read at most (after decompression). @default {10 MiB} */
  maxBytes?: number;
  /** Which discovered links to follow. @default {"same-host"} */
  scope?: Scope;
  /** The User-Agent header; its product token selects the robots.txt group. @default {"dmp-crawler/0.1"} */
  userAgent?: string;
  /** Obey robots.txt. @default {true} */
  robots?: boolean;
  /** `--select` fields. */
  selectors?: Selector[];
  /** Where HTML is parsed: in the worker (default, uses every core) or in the main thread's callback. */
  parse?: "main" | "worker";
  /** Base of the exponential back-off between retries. @default {500} */
  backoffMs?: number;
  /**
   * Stops the crawl: nothing more is scheduled and no more links are
   * followed; a URL waiting to retry or to follow a redirect gets a record
   * saying it was not fetched; requests in flight finish or time out within
   * `timeoutMs`, and any still running then get a record saying so.
   */
  signal?: AbortSignal;
  /** Counters, updated as the crawl runs (for progress displays and summaries). */
  stats?: CrawlStats;
  /**
   * Where the crawl's state lives, so that it survives a crash and can be
   * shared: a SQLite file path, or `redis://HOST:PORT[/DB]`. Running again
   * with the same state resumes; several processes with the same Redis state
   * and `job` share one crawl. Without it the crawl lives in this process's
   * memory. See docs/crawler.md, "State and resume".
   */
  state?: string;
  /** With a `redis://` state: the crawl's name, the prefix of its keys. @default {"crawl"} */
  job?: string;
  /**
   * Milliseconds a URL taken by this process stays reserved for it; kept
   * alive while the process runs, so a process that dies gives its URLs back
   * when it runs out (at once for a process of the same machine). @default {60000}
   */
  lease?: number;
  /** With `state`: discard the saved state first. */
  fresh?: boolean;
  /**
   * With `state`: the consumer's output, for records exactly once across
   * crashes. Without it, a record yielded but not yet done with when the
   * process died (the loop had not asked for the next one) is yielded again
   * by the next run of the crawl.
   */
  output?: CrawlOutput;
  /**
   * Messages about the state: a lost Redis connection and its retries, records
   * waiting for another output. @default {console.warn}
   */
  onWarning?: (message: string) => void;
}

/**
 * Where a consumer of {@linkcode crawl} puts its records, for exactly-once
 * output with a `state`: each acknowledged record is committed together with
 * the output's position after it, and a resumed crawl first rewinds the
 * output to the last committed position, then yields again the records that
 * were committed after it. The command line's `--out` file is one (its
 * position is its length in bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CrawlOutput } from "./crawl.ts";
 * const lines: string[] = [];
 * const output: CrawlOutput = {
 *   name: "lines",
 *   position: () => lines.length,
 *   rewind: (position) => void lines.splice(position),
 * };
 * lines.push("a", "b");
 * await output.rewind(1);
 * assert.deepEqual(lines, ["a"]);
 * ```
 */
export interface CrawlOutput {
  /**
   * The output's name in the crawl's state: one process at a time may use a
   * name, and a process that resumes with it rewinds the output.
   */
  name: string;
  /** The position after the records written so far (for a file, its length). */
  position(): number;
  /** Cuts the output back to `position` (for a file, truncates it there). */
  rewind(position: number): void | Promise<void>;
}

/**
 * The whole crawl's counters, kept in its state (see {@linkcode CrawlStats.crawl}).
 *
 * @example
 * ```ts
 * import type { CrawlTotals } from "./crawl.ts";
 * const show = (t: CrawlTotals) => `${t.pages} pages, ${t.queued} queued, ${t.seen} seen`;
 * ```
 */
export interface CrawlTotals {
  /** Records made, by every process. */
  pages: number;
  /** Records without an error. */
  ok: number;
  /** Records with an error. */
  failed: number;
  /** Body bytes read. */
  bytes: number;
  /** Records by status ("error" for no response). */
  statuses: Record<string, number>;
  /** Requests retried. */
  retries: number;
  /** URLs robots.txt kept out. */
  blockedByRobots: number;
  /** URLs not fetched because their robots.txt could not be read. */
  robotsUnreachable: number;
  /** Links dropped as already seen. */
  duplicates: number;
  /** URLs ever added to the crawl. */
  seen: number;
  /** URLs waiting. */
  queued: number;
  /** URLs taken by a process and not finished. */
  leased: number;
}

/**
 * What a crawl counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crawl, type CrawlStats, newStats } from "./crawl.ts";
 * const pages: Record<string, string> = {
 *   "/": `<title>Home</title><a href="/about">About</a>`,
 *   "/about": `<title>About</title>`,
 * };
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   new Response(pages[new URL(request.url).pathname], { headers: { "content-type": "text/html" } }));
 * const home = `http://127.0.0.1:${server.addr.port}/`;
 * const stats: CrawlStats = newStats();
 * await Array.fromAsync(crawl([home], { processes: 1, robots: false, stats }));
 * await server.shutdown();
 * assert.equal(stats.ok, 1);
 * ```
 */
export interface CrawlStats {
  /** Records made. */
  pages: number;
  /** Records without an error. */
  ok: number;
  /** Records with an error. */
  failed: number;
  /** Body bytes read. */
  bytes: number;
  /** Records by status ("error" for no response). */
  statuses: Record<string, number>;
  /** Requests retried. */
  retries: number;
  /** URLs robots.txt kept out: by its rules, or by a Crawl-delay over the cap. */
  blockedByRobots: number;
  /** URLs not fetched because their robots.txt could not be read (network error, 5xx). */
  robotsUnreachable: number;
  /** Links dropped as already seen. */
  duplicates: number;
  /** URLs waiting for a record. */
  queued: number;
  /** Requests in flight. */
  inFlight: number;
  /** performance.now() at the start. */
  startedAt: number;
  /** With a `state`: the whole crawl's counters (every process, every run), read at the end. */
  crawl?: CrawlTotals;
}

/**
 * Fresh counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newStats } from "./crawl.ts";
 * const stats = newStats();
 * assert.equal(stats.pages + stats.failed + stats.queued, 0);
 * ```
 */
export function newStats(): CrawlStats {
  return {
    pages: 0,
    ok: 0,
    failed: 0,
    bytes: 0,
    statuses: {},
    retries: 0,
    blockedByRobots: 0,
    robotsUnreachable: 0,
    duplicates: 0,
    queued: 0,
    inFlight: 0,
    startedAt: performance.now(),
  };
}
/** Records waiting for the consumer past which no new URL is taken: concurrency x 4, within these. */
const MIN_READY_RECORDS = 64;
const MAX_READY_RECORDS = 1024;
/** The same bound on their size, in characters. */
const MAX_READY_CHARS = 64 * 1024 * 1024;

/** About the length of a record's JSON, in characters (for the backpressure bound). */
function recordChars(record: CrawlRecord): number {
  let chars = 200 + record.url.length + record.finalUrl.length + (record.title?.length ?? 0) +
    (record.error?.length ?? 0) + (record.contentType?.length ?? 0);
  for (const link of record.links) chars += link.length + 3;
  if (record.fields) {
    for (const [name, value] of Object.entries(record.fields)) {
      chars += name.length + (value?.length ?? 4) + 6;
    }
  }
  return chars;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504, 522, 524]);
const MAX_REDIRECTS = 10;
const MAX_ROBOTS_REDIRECTS = 5;
const MAX_BACKOFF_MS = 60_000;
/** RFC 9309 2.5: crawlers must read at least 500 KiB of a robots.txt; Google reads that much. */
const ROBOTS_MAX_BYTES = 500 * 1024;
/** How often an idle process of a shared crawl looks for work that others added. */
const POLL_MS = 100;

/** What this process knows of an origin's robots.txt. */
interface OriginRules {
  robots?: RobotsTxt;
  /** Set when every URL of the origin fails: robots.txt unreachable, or a Crawl-delay over the cap. */
  refusal?: { error: string; unreachable: boolean };
}

function rulesOf(verdict: RobotsVerdict): OriginRules {
  if ("allow" in verdict) return { robots: RobotsTxt.allowAll() };
  if ("text" in verdict) return { robots: RobotsTxt.parse(verdict.text) };
  return { refusal: { error: verdict.refusal, unreachable: verdict.unreachable } };
}

function newPage(url: string, seed: string, depth: number): PageJob {
  return { kind: "page", url, hop: url, seed, depth, attempt: 0, chain: [url], firstAt: 0 };
}

/**
 * Crawls from `urls`, yielding one record per requested URL as pages complete.
 *
 * @param urls Start URLs (normalised and de-duplicated; invalid ones throw).
 * @param options See {@linkcode CrawlOptions}.
 * @returns The records.
 * @throws {RangeError} When a numeric option is out of its range (at the call).
 * @throws {TypeError} For an unknown option (naming the closest known one), a
 *   string instead of an iterable of URLs, or a URL that is not absolute http(s).
 *
 * @example
 * ```ts ignore
 * import { crawl } from "jsr:@dmp/multiprocessing/crawler";
 * for await (const record of crawl(["https://example.com/"], { depth: 1 })) {
 *   console.log(record.status, record.url, record.title);
 * }
 * ```
 *
 * @example A site served on 127.0.0.1
 * ```ts
 * import assert from "node:assert/strict";
 * import { crawl } from "./crawl.ts";
 * const pages: Record<string, string> = {
 *   "/": `<title>Home</title><a href="/about">About</a>`,
 *   "/about": `<title>About</title>`,
 * };
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   new Response(pages[new URL(request.url).pathname], { headers: { "content-type": "text/html" } }));
 * const home = `http://127.0.0.1:${server.addr.port}/`;
 * const titles: (string | null)[] = [];
 * for await (const record of crawl([home], { depth: 1, processes: 1, robots: false })) {
 *   titles.push(record.title);
 * }
 * await server.shutdown();
 * assert.deepEqual(titles.sort(), ["About", "Home"]);
 * ```
 *
 * @example Stopping: a URL waiting to retry gets a record saying so
 * ```ts
 * import assert from "node:assert/strict";
 * import { crawl, newStats } from "./crawl.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response("busy", { status: 503, headers: { "retry-after": "30" } }));
 * const url = `http://127.0.0.1:${server.addr.port}/`;
 * const controller = new AbortController();
 * const stats = newStats();
 * // Stop once the page waits out its Retry-After.
 * const watch = setInterval(() => stats.retries > 0 && controller.abort(), 10);
 * const options = { processes: 1, robots: false, stats, signal: controller.signal };
 * const records = await Array.fromAsync(crawl([url], options));
 * clearInterval(watch);
 * await server.shutdown();
 * assert.match(records[0].error!, /not fetched: crawl interrupted while waiting to retry/);
 * ```
 */
export function crawl(
  urls: Iterable<string>,
  options: CrawlOptions = {},
): AsyncGenerator<CrawlRecord, void, undefined> {
  // Checked at the call, not at the first record: a mistake shows where it is made.
  checkCrawlOptions(options);
  if (typeof urls === "string") {
    throw new TypeError(
      `Cannot crawl: 'urls' must be an iterable of URLs, not a string; pass [url] for one`,
    );
  }
  if (typeof (urls as Partial<Iterable<string>>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`Cannot crawl: 'urls' must be an iterable of URLs (an array, a Set...)`);
  }
  const seeds: PageJob[] = [];
  for (const raw of urls) {
    const url = typeof raw === "string" ? normalizeUrl(raw) : undefined;
    if (!url) {
      throw new TypeError(
        `Cannot crawl ${
          typeof raw === "string" ? `'${clip(raw, MAX_MESSAGE_URL_CHARS)}'` : String(raw)
        }: not an absolute http(s) URL`,
      );
    }
    seeds.push(newPage(url, url, 0));
  }
  return run(seeds, options);
}

async function* run(
  seeds: PageJob[],
  options: CrawlOptions,
): AsyncGenerator<CrawlRecord, void, undefined> {
  const o = {
    depth: options.depth ?? 0,
    maxPages: options.maxPages ?? Infinity,
    concurrency: options.concurrency ?? 16,
    perHost: options.perHost ?? 2,
    delayMs: options.delayMs ?? 0,
    timeoutMs: options.timeoutMs ?? 30_000,
    retries: options.retries ?? 2,
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    scope: options.scope ?? "same-host",
    userAgent: options.userAgent ?? "dmp-crawler/0.1",
    robots: options.robots ?? true,
    selectors: options.selectors ?? [],
    parse: options.parse ?? "worker",
    backoffMs: options.backoffMs ?? 500,
    lease: options.lease ?? 60_000,
  };
  const stats = options.stats ?? newStats();

  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  const frontier = await openFrontier({
    state: options.state,
    job: options.job,
    fresh: options.fresh ?? false,
    warn,
    config: {
      perHost: o.perHost,
      delayMs: o.delayMs,
      maxPages: o.maxPages,
      robots: o.robots,
      leaseMs: o.lease,
    },
  });
  const durable = frontier.durable;
  const output = durable ? options.output : undefined;
  let pool: Pool | undefined;
  let fetchOnce: typeof import("./_fetch_task.ts").fetchOnce;
  /** What this process knows of each origin's robots.txt (one entry per origin, not per URL). */
  const origins = new Map<string, OriginRules>();
  /** Jobs leased to this process whose request runs, by key. */
  const inFlight = new Map<string, Job>();
  /** What the next step commits. */
  let add: PageJob[] = seeds;
  let done: Done[] = [];
  let requeue: Requeue[] = [];
  let release: string[] = [];
  /** Committed records, waiting to be yielded. */
  const ready: Delivery[] = [];
  /** Roughly the size of `ready` in characters (its records' JSON). */
  let readyChars = 0;
  // Backpressure: past either bound no new URL is taken (the requests in
  // flight finish) until the consumer takes records. A consumer that stops
  // reading holds a few records in memory, not the whole crawl.
  const maxReady = Math.min(MAX_READY_RECORDS, Math.max(MIN_READY_RECORDS, o.concurrency * 4));
  const backlogged = () => ready.length >= maxReady || readyChars >= MAX_READY_CHARS;
  /** Set when a step took nothing because of the backlog: the consumer's next take kicks. */
  let heldBack = false;
  const toYield = (delivery: Delivery) => {
    ready.push(delivery);
    readyChars += recordChars(delivery.record);
  };
  /** The last record yielded and acknowledged (the consumer came back for the next), and the output's position then. */
  let acked = { seq: 0, checkpoint: undefined as number | undefined };
  let ackSent = 0;
  /** The whole crawl's queued and leased jobs, as of the last step. */
  let queuedAll = Infinity;
  let leasedAll = Infinity;
  /** Before this performance.now(), a step only to take jobs would find none. */
  let takeAfter = 0;
  let stepping = false;
  /** The step in flight, if any. */
  let current: Promise<StepResult> | undefined;
  let kickQueued = false;
  let heartbeatDue = false;
  let stopping = false; // set by the signal: nothing new starts
  let closed = false; // set when the generator ends: late outcomes are dropped
  let fatal: unknown;
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cutTimer: ReturnType<typeof setTimeout> | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const taskOptions = (job: Job): FetchTaskOptions => ({
    userAgent: o.userAgent,
    timeoutMs: o.timeoutMs,
    maxBytes: job.kind === "robots" ? ROBOTS_MAX_BYTES : o.maxBytes,
    parse: job.kind === "robots" ? "raw" : o.parse,
    selectors: o.selectors,
  });

  const buffered = () =>
    add.length + done.length + requeue.length + release.length > 0 || heartbeatDue;

  /**
   * Runs steps after the current burst of work (e.g. many pages settling at
   * once). While a step is in flight, what settles meanwhile gathers for the
   * next one: one transaction (or Redis call) commits many pages.
   */
  const kick = () => {
    if (kickQueued || closed) return;
    kickQueued = true;
    queueMicrotask(() => {
      kickQueued = false;
      void runSteps();
    });
  };

  /**
   * The scheduler's loop: one frontier step at a time, each committing what
   * finished since the last one and taking jobs for the free slots. A step
   * in flight batches what settles meanwhile into the next one.
   */
  const runSteps = async () => {
    if (stepping || closed) return;
    stepping = true;
    try {
      while (!closed && fatal === undefined) {
        heldBack = !stopping && backlogged();
        const free = stopping || heldBack ? 0 : o.concurrency - inFlight.size;
        const takeOnly = free > 0 && performance.now() >= takeAfter;
        const ackDue = acked.seq > ackSent;
        // An acknowledgement goes with the next step. Alone it is worth a
        // step (a transaction, a round trip) only when no request in flight
        // will bring one: at the end, or in a pause. Sent at once, it was a
        // sixth of a durable crawl's steps, each committing nothing else.
        if (!buffered() && !takeOnly && !(ackDue && inFlight.size === 0)) break;
        const ack = ackDue ? { ...acked } : undefined;
        const request: StepRequest = { add, done, requeue, release, ack, take: Math.max(0, free) };
        add = [];
        done = [];
        requeue = [];
        release = [];
        heartbeatDue = false;
        current = frontier.step(request);
        const result = await current;
        if (closed) return;
        if (ack) ackSent = ack.seq;
        apply(request, result);
        const now = performance.now();
        if (result.taken.length < request.take) {
          const wait = result.waitMs ?? Infinity;
          takeAfter = now + (frontier.shared ? Math.min(wait, POLL_MS) : wait);
        } else takeAfter = 0;
        await start(result.taken);
      }
    } catch (error) {
      fatal ??= error;
    } finally {
      stepping = false;
      notify();
    }
    clearTimeout(timer);
    const wait = takeAfter - performance.now();
    if (!closed && !stopping && takeAfter > 0 && Number.isFinite(wait)) {
      timer = setSafeTimeout(kick, Math.max(1, wait));
    }
  };

  const accept = (record: CrawlRecord, seq: number, reason?: "blocked" | "unreachable") => {
    stats.pages++;
    stats.bytes += record.bytes;
    if (record.error) stats.failed++;
    else stats.ok++;
    const key = record.status === 0 ? "error" : String(record.status);
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    if (reason === "blocked") stats.blockedByRobots++;
    if (reason === "unreachable") stats.robotsUnreachable++;
    toYield({ seq, record });
  };

  /** Takes in what a step committed: records to yield, counters. */
  const apply = (request: StepRequest, result: StepResult) => {
    for (const delivery of result.adopted) toYield(delivery);
    request.done.forEach((item, i) => {
      const { seq, blocked } = result.done[i];
      // 0: the lease was lost (this process was given up); another process has the URL.
      if (seq === 0) return;
      if (item.record) accept(item.record, seq, item.robotsBlock);
      item.blocked.forEach(({ record, reason }, j) => {
        if (blocked[j] !== 0) accept(record, blocked[j], reason);
      });
    });
    stats.duplicates += result.duplicates;
    queuedAll = result.queued;
    leasedAll = result.leased;
    stats.queued = result.queued;
    notify();
  };

  /** Starts the jobs a step leased to this process. */
  const start = async (jobs: Job[]) => {
    if (jobs.length === 0) return;
    for (const job of jobs) inFlight.set(jobKey(job), job);
    if (o.robots) {
      const missing = [
        ...new Set(
          jobs.filter((job) => job.kind === "page").map((job) => new URL(job.hop).origin)
            .filter((origin) => !origins.has(origin)),
        ),
      ];
      if (missing.length > 0) {
        const verdicts = await frontier.verdicts(missing);
        missing.forEach((origin, i) => {
          const verdict = verdicts[i];
          if (verdict) origins.set(origin, rulesOf(verdict));
        });
      }
    }
    for (const job of jobs) {
      if (closed) return;
      if (job.kind === "robots" || !o.robots) {
        dispatch(job);
        continue;
      }
      // A page is taken only once its origin's robots.txt is decided; one
      // added by a process that ignores robots.txt may come without a verdict.
      const rules = origins.get(new URL(job.hop).origin);
      if (rules?.refusal) {
        inFlight.delete(job.url);
        finish(
          job,
          { error: rules.refusal.error },
          rules.refusal.unreachable ? "unreachable" : "blocked",
        );
      } else if (rules?.robots && !rules.robots.isAllowed(job.hop, o.userAgent)) {
        inFlight.delete(job.url);
        finish(job, { error: "disallowed by robots.txt" }, "blocked");
      } else dispatch(job);
    }
    stats.inFlight = inFlight.size;
  };

  const dispatch = (job: Job): void => {
    if (job.kind === "page" && job.firstAt === 0) job.firstAt = Date.now();
    pool!.apply(fetchOnce, [job.hop, taskOptions(job)]).then(
      (outcome: FetchOutcome) => settle(job, outcome),
      (error) =>
        settle(job, {
          ...emptyOutcome(job.hop),
          error: `the worker failed: ${error instanceof Error ? error.message : error}`,
          retriable: true,
        }),
    );
  };

  const settle = (job: Job, outcome: FetchOutcome): void => {
    // Not in flight any more: the stop deadline already dealt with it.
    if (closed || inFlight.get(jobKey(job)) !== job) return;
    inFlight.delete(jobKey(job));
    stats.inFlight = inFlight.size;
    if (job.kind === "robots") settleRobots(job, outcome);
    else settlePage(job, outcome);
    kick();
  };

  /**
   * Puts `job` back after a back-off if `outcome` deserves a retry.
   * Returns "retrying", "no", or why a retriable outcome is not retried.
   */
  const retry = (job: Job, outcome: FetchOutcome): string => {
    const retriable = outcome.error !== undefined
      ? outcome.retriable === true
      : RETRY_STATUSES.has(outcome.status);
    // A durable crawl keeps a retry for the next run even when stopping.
    if (!retriable || job.attempt >= o.retries || (stopping && !durable)) return "no";
    let wait = Math.min(MAX_BACKOFF_MS, o.backoffMs * 2 ** job.attempt);
    if (outcome.error === undefined && outcome.retryAfterMs !== null) {
      if (outcome.retryAfterMs > MAX_SERVER_WAIT_MS) {
        return `Retry-After of ${outcome.retryAfterMs / 1000} s exceeds the ${
          MAX_SERVER_WAIT_MS / 1000
        } s cap`;
      }
      wait = Math.max(wait, outcome.retryAfterMs);
    }
    stats.retries++;
    requeue.push({
      job: { ...job, attempt: job.attempt + 1, lastFailure: describe(outcome) },
      delayMs: wait,
      retry: true,
    });
    return "retrying";
  };

  const settlePage = (job: PageJob, outcome: FetchOutcome): void => {
    const verdict = retry(job, outcome);
    if (verdict === "retrying") return;
    if (verdict !== "no") {
      return finish(job, { ...outcome, error: `${describe(outcome)}, not retried: ${verdict}` });
    }
    if (outcome.invalidLocation !== undefined && !outcome.error) {
      outcome.error = `invalid redirect Location: ${
        clip(outcome.invalidLocation, MAX_MESSAGE_URL_CHARS)
      }`;
    }
    if (outcome.location && !outcome.error) {
      if (!stopping || durable) return redirect(job, outcome);
      outcome.error = `not fetched: crawl interrupted before following the redirect to ${
        clip(normalizeUrl(outcome.location) ?? outcome.location, MAX_MESSAGE_URL_CHARS)
      }`;
    }
    finish(job, outcome);
  };

  const redirect = (job: PageJob, outcome: FetchOutcome): void => {
    const target = normalizeUrl(outcome.location!);
    // URLs in messages are cut: a Location may be hundreds of kilobytes long.
    const quote = (url: string) => clip(url, MAX_MESSAGE_URL_CHARS);
    let error: string | undefined;
    if (!target) error = `redirect to a non-http(s) URL: ${quote(outcome.location!)}`;
    else if (job.chain.includes(target)) {
      // From the first visit of the target: the loop itself, not the way in.
      const loop = job.chain.slice(job.chain.indexOf(target));
      error = `redirect loop: ${[...loop, target].map(quote).join(" -> ")}`;
    } else if (job.chain.length > MAX_REDIRECTS) error = `more than ${MAX_REDIRECTS} redirects`;
    else if (!inScope(target, job.seed, o.scope)) {
      error = `redirect out of scope (${o.scope}): ${quote(target)}`;
    }
    if (error) return finish(job, { ...outcome, error });
    requeue.push({
      job: { ...job, chain: [...job.chain, target!], hop: target!, attempt: 0 },
      delayMs: 0,
      retry: false,
    });
  };

  /** RFC 9309 2.3.1: what a robots.txt fetch (after its retries) means for its origin. */
  const settleRobots = (job: RobotsJob, outcome: FetchOutcome): void => {
    const verdict = retry(job, outcome);
    if (verdict === "retrying") return;
    if (verdict !== "no") {
      return decide(job, {
        refusal: `robots.txt unreachable (${describe(outcome)}, not retried: ${verdict})`,
        unreachable: true,
      });
    }
    // A Location that is not a URL cannot be followed: robots.txt is unavailable (2.3.1.2).
    if (outcome.invalidLocation !== undefined && !outcome.error) {
      return decide(job, { allow: true });
    }
    if (outcome.location && !outcome.error) {
      // Followed like a page's redirect: http(s) only, in scope, at most 5 hops.
      const target = normalizeUrl(outcome.location);
      if (
        target && job.redirects < MAX_ROBOTS_REDIRECTS && (!stopping || durable) &&
        inScope(target, `${job.origin}/`, o.scope)
      ) {
        requeue.push({
          job: { ...job, hop: target, redirects: job.redirects + 1, attempt: 0 },
          delayMs: 0,
          retry: false,
        });
        return;
      }
      // A redirect that cannot be followed leaves robots.txt unavailable: allow all (2.3.1.2).
      return decide(job, { allow: true });
    }
    if (outcome.error) {
      return decide(job, {
        refusal: `robots.txt unreachable (${outcome.error})`,
        unreachable: true,
      });
    }
    if (outcome.status >= 500) {
      return decide(job, {
        refusal: `robots.txt answered ${outcome.status}: disallowed all, as RFC 9309 says`,
        unreachable: true,
      });
    }
    // 4xx (and anything else that is not a 2xx file): unavailable, allow all (2.3.1.3).
    if (outcome.status < 200 || outcome.status >= 300) return decide(job, { allow: true });
    const text = outcome.body ?? "";
    const delay = RobotsTxt.parse(text).crawlDelay(o.userAgent);
    if (delay !== undefined && delay * 1000 > MAX_SERVER_WAIT_MS) {
      return decide(job, {
        refusal: `not fetched: robots.txt asks for a Crawl-delay of ${delay} s, over the ${
          MAX_SERVER_WAIT_MS / 1000
        } s cap`,
        unreachable: false,
      });
    }
    decide(job, { text });
  };

  /** Settles an origin's robots.txt for the whole crawl: the pages waiting for it may go. */
  const decide = (job: RobotsJob, verdict: RobotsVerdict): void => {
    const rules = rulesOf(verdict);
    origins.set(job.origin, rules);
    const delay = rules.robots?.crawlDelay(o.userAgent);
    done.push({
      key: jobKey(job),
      links: [],
      blocked: [],
      robots: { origin: job.origin, verdict, crawlDelayMs: delay === undefined ? 0 : delay * 1000 },
    });
  };

  /** A record for a URL of `job` that will not be fetched now that the crawl stops (in memory). */
  const interrupted = (job: PageJob): CrawlRecord =>
    makeRecord(job, {
      error: job.attempt > 0
        ? `not fetched: crawl interrupted while waiting to retry (the last attempt: ${job.lastFailure})`
        : `not fetched: crawl interrupted before following the redirect to ${
          clip(job.hop, MAX_MESSAGE_URL_CHARS)
        }`,
    }).record;

  /** The record of a page, and the links it brings. */
  const makeRecord = (
    job: PageJob,
    outcome: Partial<FetchOutcome>,
  ): { record: CrawlRecord; links: string[] } => {
    let { title = null, links = [], fields, error } = outcome;
    const status = outcome.status ?? 0;
    if (outcome.body !== undefined && o.parse === "main" && !error && status < 300) {
      // The seed's design: the main thread parses in the callback, within
      // what is left of the request's timeout.
      const deadline = performance.now() + Math.max(0, o.timeoutMs - (outcome.elapsedMs ?? 0));
      try {
        const facts = extractPage(outcome.body, job.hop, { encoding: outcome.encoding, deadline });
        title = facts.title;
        links = facts.links;
        if (o.selectors.length > 0) fields = select(outcome.body, o.selectors, deadline);
      } catch (caught) {
        if (!(caught instanceof ParseDeadlineError)) throw caught;
        error = `timed out after ${o.timeoutMs} ms parsing the page (${caught.message})`;
        title = null;
        links = [];
      }
    }
    const record: CrawlRecord = {
      url: job.url,
      finalUrl: job.hop,
      status,
      contentType: outcome.contentType ?? null,
      encoding: outcome.encoding ?? null,
      title,
      links,
      bytes: outcome.bytes ?? 0,
      depth: job.depth,
      elapsedMs: job.firstAt === 0 ? 0 : Math.max(0, Date.now() - job.firstAt),
    };
    if (!error && outcome.truncated) error = `body larger than ${o.maxBytes} bytes: cut there`;
    // A final status that is not 2xx (4xx, 5xx, 1xx, a 3xx without Location) is a failure.
    if (!error && (record.status < 200 || record.status >= 300)) error = `HTTP ${record.status}`;
    if (error) record.error = error;
    if (fields) record.fields = fields;
    return { record, links: error ? [] : links };
  };

  /** Commits a page's record with its links (at the next step). */
  const finish = (
    job: PageJob,
    outcome: Partial<FetchOutcome>,
    robotsBlock?: "blocked" | "unreachable",
  ): void => {
    const { record, links } = makeRecord(job, outcome);
    const item: Done = { key: job.url, record, robotsBlock, links: [], blocked: [] };
    // Links found after a stop are not followed: in memory they would keep the
    // crawl alive; a durable crawl keeps them for the next run.
    if (job.depth < o.depth && (!stopping || durable)) {
      for (const link of links) {
        const next = normalizeUrl(link);
        if (!next || !inScope(next, job.seed, o.scope)) continue;
        const rules = o.robots ? origins.get(new URL(next).origin) : undefined;
        const blocked = rules?.refusal
          ? {
            error: rules.refusal.error,
            reason: rules.refusal.unreachable ? "unreachable" : "blocked",
          } as const
          : rules?.robots && !rules.robots.isAllowed(next, o.userAgent)
          ? { error: "disallowed by robots.txt", reason: "blocked" } as const
          : undefined;
        const page = newPage(next, job.seed, job.depth + 1);
        if (blocked) {
          item.blocked.push({
            record: makeRecord(page, { error: blocked.error }).record,
            reason: blocked.reason,
          });
        } else item.links.push(page);
      }
    }
    done.push(item);
  };

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    if (!durable) {
      // In memory nothing survives: a URL already requested (waiting to
      // retry, or between two redirects) gets a record; the rest is dropped.
      for (const job of frontier.abandon()) {
        if (job.kind === "page" && job.firstAt !== 0) accept(interrupted(job), -1);
      }
    }
    // Each request in flight ends within timeoutMs of its dispatch (the
    // worker aborts it, parsing included). Whatever has not reported by then
    // (a worker stuck in a task) is dealt with here, so the crawl ends.
    if (inFlight.size > 0) cutTimer = setSafeTimeout(cut, o.timeoutMs);
    kick();
    notify();
  };

  const cut = (): void => {
    for (const [key, job] of inFlight) {
      inFlight.delete(key);
      // A durable crawl gives the URL back for the next run.
      if (durable) release.push(key);
      else if (job.kind === "page") {
        finish(job, {
          error:
            `not finished: crawl interrupted, and the request did not end within the ${o.timeoutMs} ms timeout`,
        });
      } else release.push(key);
    }
    stats.inFlight = 0;
    kick();
  };

  const finished = () =>
    !stepping && !kickQueued && inFlight.size === 0 && !buffered() && ready.length === 0 &&
    acked.seq <= ackSent && (stopping || (queuedAll === 0 && leasedAll === 0));

  try {
    const opened = await frontier.open(output?.name);
    for (const { output: other, records } of opened.waiting ?? []) {
      warn(
        `${records} record${records === 1 ? "" : "s"} of this crawl wait${
          records === 1 ? "s" : ""
        } for the output ${quoteOutput(other)}, which no process is writing: run the crawl ` +
          `again with that output to write ${records === 1 ? "it" : "them"}`,
      );
    }
    if (output) await output.rewind(opened.checkpoint ?? 0);
    for (const delivery of opened.redeliver) toYield(delivery);
    const processes = options.processes ?? navigator.hardwareConcurrency ?? 1;
    pool = new Pool({
      processes: options.processes,
      // Every request the main thread dispatches starts at once: the per-request
      // timeout runs from the dispatch, which the stop deadline relies on.
      concurrency: Math.max(1, Math.ceil(o.concurrency / processes)),
      modules: [new URL("./_fetch_task.ts", import.meta.url)],
    });
    fetchOnce = (await import("./_fetch_task.ts")).fetchOnce;
    // Start every worker before the first URL is taken: a URL taken while its
    // worker still starts would leave late, closer to the next request to its
    // host than --delay (which counts from the take).
    const warmUp = taskOptions(newPage("about:blank", "about:blank", 0));
    await Promise.all(
      Array.from({ length: processes }, () => pool!.apply(fetchOnce, ["about:blank", warmUp])),
    );
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener("abort", stop, { once: true });
    if (durable) {
      // Leases stay this process's while it lives: a slow page is not
      // fetched twice. A third of the lease leaves room for a slow step.
      heartbeat = setInterval(() => {
        heartbeatDue = true;
        kick();
      }, Math.max(1, Math.floor(o.lease / 3)));
    }
    kick();
    for (;;) {
      if (fatal !== undefined) throw fatal;
      const next = ready.shift();
      if (next) {
        readyChars -= recordChars(next.record);
        if (heldBack && !backlogged()) {
          heldBack = false;
          kick();
        }
        yield next.record;
        // The consumer came back for the next record: this one is theirs.
        if (next.seq > 0) acked = { seq: next.seq, checkpoint: output?.position() };
        continue;
      }
      if (finished()) break;
      // The last acknowledgement goes with the next step; when no request is
      // in flight to bring one (at the end), it needs one of its own.
      if (acked.seq > ackSent && !stepping && inFlight.size === 0) kick();
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (durable) stats.crawl = await frontier.totals();
  } finally {
    options.signal?.removeEventListener("abort", stop);
    closed = true;
    clearTimeout(timer);
    clearTimeout(cutTimer);
    clearInterval(heartbeat);
    try {
      // A consumer that stops early has acknowledged the records it came
      // back from: say so, or the next run would deliver them again.
      await current?.catch(() => {});
      if (durable && fatal === undefined && acked.seq > ackSent) {
        await frontier.step({ add: [], done: [], requeue: [], release: [], ack: acked, take: 0 })
          .catch(() => {});
      }
      await frontier.close();
    } finally {
      await pool?.terminate();
    }
  }
}

/** The failure of an outcome in words: its error, else its status. */
function describe(outcome: FetchOutcome): string {
  return outcome.error ?? `HTTP ${outcome.status}`;
}

function emptyOutcome(url: string): FetchOutcome {
  return {
    url,
    status: 0,
    contentType: null,
    location: null,
    retryAfterMs: null,
    bytes: 0,
    truncated: false,
    elapsedMs: 0,
  };
}

/**
 * An output's name as the user knows it: the command line names its --out
 * "HOST:PATH", shown as the path when HOST is this machine's.
 */
function quoteOutput(name: string): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch {
    // No permission to read it: the name is shown whole.
  }
  // Escaped: a shared state's names come from other processes, and a path may
  // hold control characters (an ESC sequence would act on the terminal).
  return `'${
    shown(name.startsWith(`${host}:`) ? name.slice(host.length + 1) : name, MAX_MESSAGE_URL_CHARS)
  }'`;
}

/** Every option of {@linkcode CrawlOptions}: any other name is a mistake. */
const OPTION_NAMES = [
  "depth",
  "maxPages",
  "processes",
  "concurrency",
  "perHost",
  "delayMs",
  "timeoutMs",
  "retries",
  "maxBytes",
  "scope",
  "userAgent",
  "robots",
  "selectors",
  "parse",
  "backoffMs",
  "signal",
  "stats",
  "state",
  "job",
  "lease",
  "fresh",
  "output",
  "onWarning",
] as const satisfies readonly (keyof CrawlOptions)[];
/** Fails to compile when an option of CrawlOptions is missing from OPTION_NAMES. */
const _everyOption: Exclude<keyof CrawlOptions, typeof OPTION_NAMES[number]> extends never ? true
  : never = true;

/**
 * Throws a TypeError for an unknown option (naming the closest known one), a
 * RangeError (or TypeError) naming the first option that is out of range.
 */
function checkCrawlOptions(options: CrawlOptions): void {
  checkOptions(options, OPTION_NAMES, "crawl");
  for (const limit of Object.values(LIMITS)) {
    const value = (options as Record<string, unknown>)[limit.option];
    if (value === undefined) continue;
    if (typeof value !== "number" || !inRange(value, limit)) {
      throw new RangeError(
        `CrawlOptions.${limit.option} must be ${describeRange(limit)}, got ${String(value)}`,
      );
    }
  }
  const scopes = ["same-host", "same-origin", "same-domain", "any"];
  if (options.scope !== undefined && !scopes.includes(options.scope)) {
    throw new TypeError(`CrawlOptions.scope must be one of ${scopes.join(", ")}`);
  }
  if (options.parse !== undefined && options.parse !== "main" && options.parse !== "worker") {
    throw new TypeError(`CrawlOptions.parse must be "main" or "worker"`);
  }
  if (options.userAgent !== undefined && !/^[\x20-\x7e]+$/.test(options.userAgent)) {
    throw new TypeError(
      "CrawlOptions.userAgent must be printable ASCII (it is sent as a header), and not empty",
    );
  }
}

/**
 * `crawl(urls, options)`: the crawler as a library. It fetches on a `Pool`
 * (one request per task, like the seed's `apply_async(get_page, ...)`), while
 * the main thread keeps the frontier, robots.txt, politeness, retries and
 * redirects, so that per-host limits hold across every worker.
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
import { extractPage } from "./_html.ts";
import { describeRange, inRange, LIMITS, MAX_SERVER_WAIT_MS } from "./_limits.ts";
import { ParseDeadlineError } from "./_parser.ts";
import { select, type Selector } from "./_select.ts";
import { setSafeTimeout } from "./_timer.ts";
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

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504, 522, 524]);
const MAX_REDIRECTS = 10;
const MAX_ROBOTS_REDIRECTS = 5;
const MAX_BACKOFF_MS = 60_000;
/** RFC 9309 2.5: crawlers must read at least 500 KiB of a robots.txt; Google reads that much. */
const ROBOTS_MAX_BYTES = 500 * 1024;

/** A requested URL, from the frontier to its record. */
interface PageJob {
  kind: "page";
  /** The URL the record is for. */
  url: string;
  /** The URL to request now (differs after a redirect). */
  hop: string;
  seed: string;
  depth: number;
  attempt: number;
  chain: string[];
  notBefore: number;
  /** performance.now() of the first request, 0 before it. */
  started: number;
  /** The last failed attempt, for the record if the crawl stops while it waits to retry. */
  lastFailure?: string;
}

/** The fetch of an origin's robots.txt (one hop of it). */
interface RobotsJob {
  kind: "robots";
  origin: string;
  hop: string;
  redirects: number;
  attempt: number;
  notBefore: number;
  lastFailure?: string;
}

type Job = PageJob | RobotsJob;

interface Host {
  active: number;
  nextAt: number;
  /** The largest Crawl-delay of this host's robots.txt files (http and https), in ms. */
  crawlDelayMs: number;
  queue: Job[];
}

interface Origin {
  robots?: RobotsTxt;
  /** Set when every URL of the origin fails: robots.txt unreachable, or a Crawl-delay over the cap. */
  refusal?: { error: string; unreachable: boolean };
  /** Pages waiting for robots.txt. */
  waiting: PageJob[];
}

/**
 * Crawls from `urls`, yielding one record per requested URL as pages complete.
 *
 * @param urls Start URLs (normalised and de-duplicated; invalid ones throw).
 * @param options See {@linkcode CrawlOptions}.
 * @returns The records.
 * @throws {RangeError} When a numeric option is out of its range.
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
export async function* crawl(
  urls: Iterable<string>,
  options: CrawlOptions = {},
): AsyncGenerator<CrawlRecord, void, undefined> {
  checkOptions(options);
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
  };
  const stats = options.stats ?? newStats();
  const seen = new Set<string>();
  const hosts = new Map<string, Host>();
  const origins = new Map<string, Origin>();
  /** Jobs whose request runs, with their host. */
  const inFlight = new Map<Job, Host>();
  const ready: CrawlRecord[] = [];
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cutTimer: ReturnType<typeof setTimeout> | undefined;
  let pumpQueued = false;
  let pending = 0; // page jobs not yet turned into records (queued, waiting or in flight)
  let stopping = false; // set by the signal: nothing new starts
  let closed = false; // set when the generator ends: late outcomes are dropped
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const processes = options.processes ?? navigator.hardwareConcurrency ?? 1;
  const pool = new Pool({
    processes: options.processes,
    // Every request the main thread dispatches starts at once: the per-request
    // timeout runs from the dispatch, which the stop deadline relies on.
    concurrency: Math.max(1, Math.ceil(o.concurrency / processes)),
    modules: [new URL("./_fetch_task.ts", import.meta.url)],
  });
  const { fetchOnce } = await import("./_fetch_task.ts");
  const taskOptions = (job: Job): FetchTaskOptions => ({
    userAgent: o.userAgent,
    timeoutMs: o.timeoutMs,
    maxBytes: job.kind === "robots" ? ROBOTS_MAX_BYTES : o.maxBytes,
    parse: job.kind === "robots" ? "raw" : o.parse,
    selectors: o.selectors,
  });

  const hostState = (name: string): Host => {
    let host = hosts.get(name);
    if (!host) {
      host = { active: 0, nextAt: 0, crawlDelayMs: 0, queue: [] };
      hosts.set(name, host);
    }
    return host;
  };

  /** Runs pump() once after the current burst of scheduling (e.g. a page's 100k links). */
  const schedulePump = () => {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  };

  const queue = (job: Job): void => {
    hostState(new URL(job.hop).host).queue.push(job);
    schedulePump();
  };

  const enqueue = (url: string, seed: string, depth: number): void => {
    if (stopping) return;
    if (seen.has(url)) {
      stats.duplicates++;
      return;
    }
    if (seen.size >= o.maxPages) return;
    seen.add(url);
    pending++;
    stats.queued = pending;
    schedule({
      kind: "page",
      url,
      hop: url,
      seed,
      depth,
      attempt: 0,
      chain: [url],
      notBefore: 0,
      started: 0,
    });
  };

  /** Puts a page job in its host's queue once its origin's robots.txt allows it. */
  const schedule = (job: PageJob): void => {
    if (stopping) return drop(job);
    const origin = new URL(job.hop).origin;
    let state = origins.get(origin);
    if (!state) {
      state = { waiting: [] };
      origins.set(origin, state);
      if (o.robots) {
        queue({
          kind: "robots",
          origin,
          hop: `${origin}/robots.txt`,
          redirects: 0,
          attempt: 0,
          notBefore: 0,
        });
      } else state.robots = RobotsTxt.allowAll();
    }
    if (state.refusal) {
      if (state.refusal.unreachable) stats.robotsUnreachable++;
      else stats.blockedByRobots++;
      return finish(job, { error: state.refusal.error });
    }
    if (!state.robots) {
      state.waiting.push(job);
      return;
    }
    if (!state.robots.isAllowed(job.hop, o.userAgent)) {
      stats.blockedByRobots++;
      return finish(job, { error: "disallowed by robots.txt" });
    }
    queue(job);
  };

  const pump = (): void => {
    if (stopping || closed) return;
    const now = performance.now();
    let nextAt = Infinity;
    for (const host of hosts.values()) {
      while (host.queue.length > 0 && inFlight.size < o.concurrency && host.active < o.perHost) {
        if (host.nextAt > now) {
          nextAt = Math.min(nextAt, host.nextAt);
          break;
        }
        // The first job whose back-off is over: a job waiting for a retry does
        // not hold up the rest of its host's queue.
        const index = host.queue.findIndex((job) => job.notBefore <= now);
        if (index < 0) {
          for (const job of host.queue) nextAt = Math.min(nextAt, job.notBefore);
          break;
        }
        const [job] = host.queue.splice(index, 1);
        host.nextAt = now + Math.max(o.delayMs, host.crawlDelayMs);
        dispatch(job, host);
      }
    }
    clearTimeout(timer);
    timer = nextAt < Infinity ? setSafeTimeout(pump, Math.max(1, nextAt - now)) : undefined;
  };

  const dispatch = (job: Job, host: Host): void => {
    host.active++;
    inFlight.set(job, host);
    stats.inFlight = inFlight.size;
    if (job.kind === "page" && job.started === 0) job.started = performance.now();
    pool.apply(fetchOnce, [job.hop, taskOptions(job)]).then(
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
    // Not in flight any more: the stop deadline already made its record.
    const host = inFlight.get(job);
    if (closed || !host) return;
    inFlight.delete(job);
    host.active--;
    stats.inFlight = inFlight.size;
    if (job.kind === "robots") settleRobots(job, outcome);
    else settlePage(job, outcome);
    schedulePump();
  };

  /**
   * Queues `job` again after a back-off if `outcome` deserves a retry.
   * Returns "retrying", "no", or why a retriable outcome is not retried.
   */
  const retry = (job: Job, outcome: FetchOutcome): string => {
    const retriable = outcome.error !== undefined
      ? outcome.retriable === true
      : RETRY_STATUSES.has(outcome.status);
    if (!retriable || job.attempt >= o.retries || stopping) return "no";
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
    job.attempt++;
    job.notBefore = performance.now() + wait;
    job.lastFailure = describe(outcome);
    queue(job);
    return "retrying";
  };

  const settlePage = (job: PageJob, outcome: FetchOutcome): void => {
    const verdict = retry(job, outcome);
    if (verdict === "retrying") return;
    if (verdict !== "no") {
      return finish(job, { ...outcome, error: `${describe(outcome)}, not retried: ${verdict}` });
    }
    if (outcome.location && !outcome.error) {
      if (!stopping) return redirect(job, outcome);
      outcome.error = `not fetched: crawl interrupted before following the redirect to ${
        normalizeUrl(outcome.location) ?? outcome.location
      }`;
    }
    finish(job, outcome);
  };

  const redirect = (job: PageJob, outcome: FetchOutcome): void => {
    const target = normalizeUrl(outcome.location!);
    let error: string | undefined;
    if (!target) error = `redirect to a non-http(s) URL: ${outcome.location}`;
    else if (job.chain.includes(target)) {
      error = `redirect loop: ${[...job.chain, target].join(" -> ")}`;
    } else if (job.chain.length > MAX_REDIRECTS) error = `more than ${MAX_REDIRECTS} redirects`;
    else if (!inScope(target, job.seed, o.scope)) {
      error = `redirect out of scope (${o.scope}): ${target}`;
    }
    if (error) return finish(job, { ...outcome, error });
    job.chain.push(target!);
    job.hop = target!;
    job.attempt = 0;
    job.notBefore = 0;
    schedule(job);
  };

  /** RFC 9309 2.3.1: what a robots.txt fetch (after its retries) means for its origin. */
  const settleRobots = (job: RobotsJob, outcome: FetchOutcome): void => {
    const verdict = retry(job, outcome);
    if (verdict === "retrying") return;
    if (verdict !== "no") {
      return decide(job.origin, {
        refusal: {
          error: `robots.txt unreachable (${describe(outcome)}, not retried: ${verdict})`,
          unreachable: true,
        },
      });
    }
    if (outcome.location && !outcome.error) {
      // Followed like a page's redirect: http(s) only, in scope, at most 5 hops.
      const target = normalizeUrl(outcome.location);
      if (
        target && job.redirects < MAX_ROBOTS_REDIRECTS && !stopping &&
        inScope(target, `${job.origin}/`, o.scope)
      ) {
        return queue({
          kind: "robots",
          origin: job.origin,
          hop: target,
          redirects: job.redirects + 1,
          attempt: 0,
          notBefore: 0,
        });
      }
      // A redirect that cannot be followed leaves robots.txt unavailable: allow all (2.3.1.2).
      return decide(job.origin, { robots: RobotsTxt.allowAll() });
    }
    if (outcome.error) {
      return decide(job.origin, {
        refusal: { error: `robots.txt unreachable (${outcome.error})`, unreachable: true },
      });
    }
    if (outcome.status >= 500) {
      return decide(job.origin, {
        refusal: {
          error: `robots.txt answered ${outcome.status}: disallowed all, as RFC 9309 says`,
          unreachable: true,
        },
      });
    }
    // 4xx (and anything else that is not a 2xx file): unavailable, allow all (2.3.1.3).
    if (outcome.status < 200 || outcome.status >= 300) {
      return decide(job.origin, { robots: RobotsTxt.allowAll() });
    }
    const robots = RobotsTxt.parse(outcome.body ?? "");
    const delay = robots.crawlDelay(o.userAgent);
    if (delay !== undefined && delay * 1000 > MAX_SERVER_WAIT_MS) {
      return decide(job.origin, {
        refusal: {
          error: `not fetched: robots.txt asks for a Crawl-delay of ${delay} s, over the ${
            MAX_SERVER_WAIT_MS / 1000
          } s cap`,
          unreachable: false,
        },
      });
    }
    decide(job.origin, { robots });
  };

  /** Settles an origin's robots.txt and schedules the pages that waited for it. */
  const decide = (
    origin: string,
    verdict: { robots: RobotsTxt } | { refusal: NonNullable<Origin["refusal"]> },
  ): void => {
    const state = origins.get(origin)!;
    if ("robots" in verdict) {
      state.robots = verdict.robots;
      const delay = verdict.robots.crawlDelay(o.userAgent);
      const host = hostState(new URL(origin).host);
      if (delay !== undefined) host.crawlDelayMs = Math.max(host.crawlDelayMs, delay * 1000);
    } else {
      state.refusal = verdict.refusal;
    }
    const waiting = state.waiting;
    state.waiting = [];
    for (const job of waiting) schedule(job);
  };

  /** A page job that will not be fetched now that the crawl stops. */
  const drop = (job: PageJob): void => {
    if (job.started === 0) {
      // Never requested: no record, as if never found.
      pending--;
      stats.queued = pending;
      return notify();
    }
    finish(job, {
      error: job.attempt > 0
        ? `not fetched: crawl interrupted while waiting to retry (the last attempt: ${job.lastFailure})`
        : `not fetched: crawl interrupted before following the redirect to ${job.hop}`,
    });
  };

  const finish = (job: PageJob, outcome: Partial<FetchOutcome>): void => {
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
      elapsedMs: Math.round(performance.now() - (job.started || performance.now())),
    };
    if (!error && outcome.truncated) error = `body larger than ${o.maxBytes} bytes: cut there`;
    // A final status that is not 2xx (4xx, 5xx, 1xx, a 3xx without Location) is a failure.
    if (!error && (record.status < 200 || record.status >= 300)) error = `HTTP ${record.status}`;
    if (error) record.error = error;
    if (fields) record.fields = fields;
    stats.pages++;
    stats.bytes += record.bytes;
    if (error) stats.failed++;
    else stats.ok++;
    const key = record.status === 0 ? "error" : String(record.status);
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    // Links found after a stop are not followed: they would keep the crawl alive.
    if (!error && job.depth < o.depth && !stopping) {
      for (const link of links) {
        const next = normalizeUrl(link);
        if (next && inScope(next, job.seed, o.scope)) enqueue(next, job.seed, job.depth + 1);
      }
    }
    pending--;
    stats.queued = pending;
    ready.push(record);
    notify();
  };

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    for (const host of hosts.values()) {
      const queued = host.queue;
      host.queue = [];
      for (const job of queued) if (job.kind === "page") drop(job);
    }
    for (const state of origins.values()) {
      const waiting = state.waiting;
      state.waiting = [];
      for (const job of waiting) drop(job);
    }
    // Each request in flight ends within timeoutMs of its dispatch (the
    // worker aborts it, parsing included). Whatever has not reported by then
    // (a worker stuck in a task) gets its record here, so the crawl ends.
    if (inFlight.size > 0) cutTimer = setSafeTimeout(cut, o.timeoutMs);
    notify();
  };

  const cut = (): void => {
    for (const [job, host] of inFlight) {
      inFlight.delete(job);
      host.active--;
      if (job.kind === "page") {
        finish(job, {
          error:
            `not finished: crawl interrupted, and the request did not end within the ${o.timeoutMs} ms timeout`,
        });
      }
    }
    stats.inFlight = 0;
    notify();
  };

  try {
    for (const raw of urls) {
      const url = normalizeUrl(raw);
      if (!url) throw new TypeError(`Cannot crawl '${raw}': not an absolute http(s) URL`);
      enqueue(url, url, 0);
    }
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener("abort", stop, { once: true });
    while (pending > 0 || ready.length > 0) {
      if (ready.length > 0) {
        yield ready.shift()!;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    closed = true;
    clearTimeout(timer);
    clearTimeout(cutTimer);
    await pool.terminate();
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

/** Throws a RangeError (or TypeError) naming the first option that is out of range. */
function checkOptions(options: CrawlOptions): void {
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

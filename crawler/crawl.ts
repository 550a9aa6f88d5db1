/**
 * `crawl(urls, options)`: the crawler as a library. It fetches on a `Pool`
 * (one request per task, like the seed's `apply_async(get_page, ...)`), while
 * the main thread keeps the frontier, robots.txt, politeness, retries and
 * redirects, so that per-host limits hold across every worker.
 *
 * @module
 */
import { Pool } from "../mod.ts";
import type { FetchOutcome, FetchTaskOptions } from "./_fetch_task.ts";
import { extractPage } from "./_html.ts";
import { select, type Selector } from "./_select.ts";
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
  /** document.title of an HTML page, else null. */
  title: string | null;
  /** Absolute http(s) links of an HTML page, without fragments, each once. */
  links: string[];
  /** Body bytes read. */
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
 * Options of {@linkcode crawl}; each has the default of the CLI flag of the same name.
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
  /** Per-request timeout. @default {30000} */
  timeoutMs?: number;
  /** Retries of network errors and 408/429/5xx-like statuses. @default {2} */
  retries?: number;
  /** Body bytes read at most. @default {10 MiB} */
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
  /** Stops scheduling; what is in flight finishes and is yielded. */
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
  /** URLs robots.txt kept out. */
  blockedByRobots: number;
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

interface Job {
  /** The URL the record is for. */
  url: string;
  /** The URL to request now (differs after a redirect). */
  hop: string;
  seed: string;
  depth: number;
  attempt: number;
  chain: string[];
  notBefore: number;
  started: number;
}

interface Host {
  active: number;
  nextAt: number;
  queue: Job[];
}

interface Origin {
  robots?: RobotsTxt;
  fetching: boolean;
  waiting: Job[];
}

/**
 * Crawls from `urls`, yielding one record per requested URL as pages complete.
 *
 * @param urls Start URLs (normalised and de-duplicated; invalid ones throw).
 * @param options See {@linkcode CrawlOptions}.
 * @returns The records.
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
 */
export async function* crawl(
  urls: Iterable<string>,
  options: CrawlOptions = {},
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
  };
  const stats = options.stats ?? newStats();
  const seen = new Set<string>();
  const hosts = new Map<string, Host>();
  const origins = new Map<string, Origin>();
  const ready: CrawlRecord[] = [];
  let wake: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = 0; // jobs not yet turned into records (queued, waiting or in flight)
  let closed = false; // set when the generator ends: late outcomes are dropped
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const pool = new Pool({
    processes: options.processes,
    concurrency: Math.max(
      1,
      Math.ceil(o.concurrency / (options.processes ?? navigator.hardwareConcurrency ?? 1)),
    ),
    modules: [new URL("./_fetch_task.ts", import.meta.url)],
  });
  const { fetchOnce } = await import("./_fetch_task.ts");
  const taskOptions = (parse: FetchTaskOptions["parse"]): FetchTaskOptions => ({
    userAgent: o.userAgent,
    timeoutMs: o.timeoutMs,
    maxBytes: o.maxBytes,
    parse,
    selectors: o.selectors,
  });

  const enqueue = (url: string, seed: string, depth: number): void => {
    if (seen.has(url)) {
      stats.duplicates++;
      return;
    }
    if (seen.size >= o.maxPages) return;
    seen.add(url);
    pending++;
    stats.queued = pending;
    schedule({ url, hop: url, seed, depth, attempt: 0, chain: [url], notBefore: 0, started: 0 });
  };

  const schedule = (job: Job): void => {
    const origin = new URL(job.hop).origin;
    let state = origins.get(origin);
    if (!state) {
      state = { fetching: false, waiting: [] };
      origins.set(origin, state);
      if (o.robots) fetchRobots(origin, state, `${origin}/robots.txt`, 0);
      else state.robots = RobotsTxt.allowAll();
    }
    if (!state.robots) {
      state.waiting.push(job);
      return;
    }
    if (!state.robots.isAllowed(job.hop, o.userAgent)) {
      stats.blockedByRobots++;
      finish(job, { status: 0, error: "disallowed by robots.txt" });
      return;
    }
    const host = hostState(new URL(job.hop).host);
    host.queue.push(job);
    pump();
  };

  const hostState = (name: string): Host => {
    let host = hosts.get(name);
    if (!host) {
      host = { active: 0, nextAt: 0, queue: [] };
      hosts.set(name, host);
    }
    return host;
  };

  const robotsDelay = (url: string): number => {
    const robots = origins.get(new URL(url).origin)?.robots;
    const seconds = robots?.crawlDelay(o.userAgent);
    return seconds === undefined ? 0 : seconds * 1000;
  };

  /** Fetches robots.txt through the pool, under the same per-host politeness. */
  const fetchRobots = (origin: string, state: Origin, url: string, redirects: number): void => {
    state.fetching = true;
    const host = hostState(new URL(url).host);
    host.active++;
    stats.inFlight++;
    pool.apply(fetchOnce, [url, taskOptions("raw")]).then((outcome: FetchOutcome) => {
      if (closed) return;
      host.active--;
      stats.inFlight--;
      host.nextAt = performance.now() + o.delayMs;
      if (outcome.location && redirects < MAX_ROBOTS_REDIRECTS) {
        return fetchRobots(origin, state, outcome.location, redirects + 1);
      }
      // RFC 9309 2.3.1: 2xx parse, 4xx (or too many redirects) allow all,
      // 5xx or unreachable disallow all.
      state.robots = outcome.error || outcome.status >= 500 || outcome.status === 0
        ? RobotsTxt.disallowAll()
        : outcome.status >= 400 || outcome.location
        ? RobotsTxt.allowAll()
        : RobotsTxt.parse(outcome.body ?? "");
      state.fetching = false;
      const waiting = state.waiting;
      state.waiting = [];
      for (const job of waiting) schedule(job);
      pump();
    }, (error) => {
      if (closed) return;
      host.active--;
      stats.inFlight--;
      state.robots = RobotsTxt.disallowAll();
      state.fetching = false;
      for (const job of state.waiting.splice(0)) finish(job, { status: 0, error: String(error) });
    });
  };

  const pump = (): void => {
    if (options.signal?.aborted) return;
    const now = performance.now();
    let nextAt = Infinity;
    for (const [name, host] of hosts) {
      while (host.queue.length > 0 && stats.inFlight < o.concurrency && host.active < o.perHost) {
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
        host.active++;
        host.nextAt = now + Math.max(o.delayMs, robotsDelay(`http://${name}/`));
        dispatch(job, host);
      }
    }
    clearTimeout(timer);
    timer = nextAt < Infinity ? setTimeout(pump, Math.max(1, nextAt - now)) : undefined;
  };

  const dispatch = (job: Job, host: Host): void => {
    stats.inFlight++;
    if (job.started === 0) job.started = performance.now();
    pool.apply(fetchOnce, [job.hop, taskOptions(o.parse)]).then(
      (outcome: FetchOutcome) => settle(job, host, outcome),
      (error) => settle(job, host, { error: String(error) } as FetchOutcome),
    );
  };

  const settle = (job: Job, host: Host, outcome: FetchOutcome): void => {
    if (closed) return;
    host.active--;
    stats.inFlight--;
    const retriable = outcome.error !== undefined && !outcome.error.startsWith("invalid redirect")
      ? true
      : RETRY_STATUSES.has(outcome.status);
    if (retriable && job.attempt < o.retries && !options.signal?.aborted) {
      stats.retries++;
      const backoff = Math.min(MAX_BACKOFF_MS, o.backoffMs * 2 ** job.attempt);
      job.attempt++;
      job.notBefore = performance.now() + Math.max(backoff, outcome.retryAfterMs ?? 0);
      host.queue.push(job);
      return pump();
    }
    if (outcome.location && !outcome.error) {
      if (!options.signal?.aborted) return redirect(job, outcome);
      outcome.error = `stopped before following the redirect to ${outcome.location}`;
    }
    finish(job, outcome);
    pump();
  };

  const redirect = (job: Job, outcome: FetchOutcome): void => {
    const target = normalizeUrl(outcome.location!);
    let error: string | undefined;
    if (!target) error = `redirect to a non-http(s) URL: ${outcome.location}`;
    else if (job.chain.includes(target)) {
      error = `redirect loop: ${[...job.chain, target].join(" -> ")}`;
    } else if (job.chain.length > MAX_REDIRECTS) error = `more than ${MAX_REDIRECTS} redirects`;
    else if (!inScope(target, job.seed, o.scope)) {
      error = `redirect out of scope (${o.scope}): ${target}`;
    }
    if (error) {
      finish(job, { ...outcome, error });
      return pump();
    }
    job.chain.push(target!);
    job.hop = target!;
    job.attempt = 0;
    job.notBefore = 0;
    schedule(job);
  };

  const finish = (job: Job, outcome: Partial<FetchOutcome>): void => {
    let { title = null, links = [], fields } = outcome;
    if (outcome.body !== undefined && o.parse === "main") {
      // The seed's design: the main thread parses in the callback.
      const facts = extractPage(outcome.body, job.hop);
      title = facts.title;
      links = facts.links;
      if (o.selectors.length > 0) fields = select(outcome.body, o.selectors);
    }
    const record: CrawlRecord = {
      url: job.url,
      finalUrl: job.hop,
      status: outcome.status ?? 0,
      contentType: outcome.contentType ?? null,
      title,
      links,
      bytes: outcome.bytes ?? 0,
      depth: job.depth,
      elapsedMs: Math.round(performance.now() - (job.started || performance.now())),
    };
    let error = outcome.error;
    if (!error && outcome.truncated) error = `body larger than ${o.maxBytes} bytes: cut there`;
    if (!error && record.status >= 400) error = `HTTP ${record.status}`;
    if (error) record.error = error;
    if (fields) record.fields = fields;
    stats.pages++;
    stats.bytes += record.bytes;
    if (error) stats.failed++;
    else stats.ok++;
    const key = record.status === 0 ? "error" : String(record.status);
    stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    if (!error && job.depth < o.depth) {
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

  try {
    for (const raw of urls) {
      const url = normalizeUrl(raw);
      if (!url) throw new TypeError(`Cannot crawl '${raw}': not an absolute http(s) URL`);
      enqueue(url, url, 0);
    }
    const abort = () => {
      // Drop what has not started; what is in flight finishes.
      for (const host of hosts.values()) {
        pending -= host.queue.length;
        host.queue.length = 0;
      }
      for (const origin of origins.values()) {
        pending -= origin.waiting.length;
        origin.waiting.length = 0;
      }
      notify();
    };
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      while (pending > 0 || ready.length > 0) {
        if (ready.length > 0) {
          yield ready.shift()!;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      options.signal?.removeEventListener("abort", abort);
    }
  } finally {
    closed = true;
    clearTimeout(timer);
    await pool.terminate();
  }
}

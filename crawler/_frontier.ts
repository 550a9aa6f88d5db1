// The frontier: every URL the crawl has seen, the queue of those still to
// fetch, who is fetching what (leases), per-host politeness, robots.txt
// verdicts, the shared counters, and the records not yet acknowledged by their
// consumer. One interface, three implementations: in memory
// (_frontier_memory.ts), in a SQLite file (_frontier_sqlite.ts) and in Redis
// (_frontier_redis.ts). The scheduler (crawl.ts) talks to this interface only.
//
// Everything the scheduler changes goes through step(): one atomic
// transaction that commits finished URLs (their records, their links, the
// counters), puts back retries and redirects, acknowledges delivered records,
// keeps this process's leases alive, and takes the next URLs. Batching all of
// it into one call per round is what makes a shared frontier fast: one SQLite
// transaction or one Redis round trip for many pages.

import type { CrawlRecord, CrawlTotals } from "./crawl.ts";

/** A page to fetch: a URL, possibly after redirects and retries. */
export interface PageJob {
  kind: "page";
  /** The URL the record is for (the job's key). */
  url: string;
  /** The URL to request now (differs after a redirect). */
  hop: string;
  seed: string;
  depth: number;
  attempt: number;
  chain: string[];
  /** Date.now() of the first request, 0 before it. */
  firstAt: number;
  /** The last failed attempt, for the record if the crawl stops while it waits to retry. */
  lastFailure?: string;
}

/** The fetch of an origin's robots.txt (one hop of it). */
export interface RobotsJob {
  kind: "robots";
  origin: string;
  hop: string;
  redirects: number;
  attempt: number;
  lastFailure?: string;
}

/** A unit of work in the frontier. */
export type Job = PageJob | RobotsJob;

/** What an origin's robots.txt decided. */
export type RobotsVerdict =
  | { allow: true }
  | { text: string }
  | { refusal: string; unreachable: boolean };

/** A URL finished by this process: committed only if its lease is still this process's. */
export interface Done {
  /** The job's key (see {@linkcode jobKey}). */
  key: string;
  /** The record (pages only). */
  record?: CrawlRecord;
  /** Set when the record is a robots.txt refusal: counted apart. */
  robotsBlock?: "blocked" | "unreachable";
  /** Links to add (new page jobs), if not seen yet. */
  links: PageJob[];
  /** New URLs that robots.txt keeps out: recorded at once if not seen yet. */
  blocked: { record: CrawlRecord; reason: "blocked" | "unreachable" }[];
  /** For a robots.txt job: the origin's verdict. */
  robots?: { origin: string; verdict: RobotsVerdict; crawlDelayMs: number };
}

/** A leased job put back in the queue: a retry (after `delayMs`) or a redirect's next hop. */
export interface Requeue {
  job: Job;
  delayMs: number;
  retry: boolean;
}

/** One round of the scheduler. */
export interface StepRequest {
  /** Start URLs, added if not seen yet. */
  add: PageJob[];
  done: Done[];
  requeue: Requeue[];
  /** Leased keys given back untouched (a stopped crawl's requests in flight). */
  release: string[];
  /** Records delivered up to `seq`, and the consumer's position after them. */
  ack?: { seq: number; checkpoint?: number };
  /** How many jobs to lease. */
  take: number;
}

/** A committed record, numbered in its writer's outbox. */
export interface Delivery {
  seq: number;
  record: CrawlRecord;
}

/** What a step did. */
export interface StepResult {
  /** Per `done` item: the record's outbox number (0: refused, the lease was lost), and its blocked ones' (0: already seen). */
  done: { seq: number; blocked: number[] }[];
  /** Links and blocked URLs dropped as already seen. */
  duplicates: number;
  /** Jobs now leased to this process. */
  taken: Job[];
  /** Records of dead processes, adopted by this one (at least once: see docs/crawler.md). */
  adopted: Delivery[];
  /** Milliseconds until a queued job becomes ready, or null when the queue is empty. */
  waitMs: number | null;
  /** Queued jobs in the whole crawl. */
  queued: number;
  /** Leased jobs in the whole crawl (every process). */
  leased: number;
}

/** The whole crawl's counters (the public CrawlTotals). */
export type Totals = CrawlTotals;

/** How the frontier behaves; the same for every process of a crawl. */
export interface FrontierConfig {
  perHost: number;
  delayMs: number;
  maxPages: number;
  robots: boolean;
  leaseMs: number;
}

/** What opening a durable frontier hands back to the consumer. */
export interface Opened {
  /** The consumer's position after the last acknowledged record (undefined: a new output). */
  checkpoint?: number;
  /** Records committed but not acknowledged: delivered again first. */
  redeliver: Delivery[];
  /**
   * Other named outputs that no process holds, with the records committed for
   * them and not yet written: they are written when a run uses that output
   * again (the crawl that used it left them; another output cannot take them,
   * as part of them may already be in that output past its checkpoint).
   */
  waiting?: { output: string; records: number }[];
}

/** The frontier, whatever keeps it. */
export interface Frontier {
  /** Whether the state outlives the process (resume instead of dropping what is queued). */
  readonly durable: boolean;
  /** Whether other processes may change it (so idle processes poll). */
  readonly shared: boolean;
  /** Where the state is, for messages. */
  readonly where: string;
  /**
   * Registers this process, gives back the leases of dead ones, and claims
   * `writer` (a named output: one process at a time), or an anonymous one.
   */
  open(writer: string | undefined): Promise<Opened>;
  /** One atomic round; also keeps this process's leases alive. */
  step(request: StepRequest): Promise<StepResult>;
  /** The verdicts known for `origins` (undefined: not decided yet). */
  verdicts(origins: string[]): Promise<(RobotsVerdict | undefined)[]>;
  /** The whole crawl's counters. */
  totals(): Promise<Totals>;
  /** Non-durable frontiers: empties the queue, returning what was in it. */
  abandon(): Job[];
  /** Unregisters this process (its leases go back) and closes. */
  close(): Promise<void>;
}

/** The key a job is known by: its URL, or "robots ORIGIN" (a space never occurs in a URL). */
export function jobKey(job: Job): string {
  return job.kind === "page" ? job.url : robotsKey(job.origin);
}

/** The key of an origin's robots.txt job. */
export function robotsKey(origin: string): string {
  return `robots ${origin}`;
}

/** The host (name and port) whose politeness a job's next request falls under. */
export function hostOf(url: string): string {
  return new URL(url).host;
}

/** The counters a committed record adds. */
export function recordCounts(
  record: CrawlRecord,
  robotsBlock: "blocked" | "unreachable" | undefined,
): [string, number][] {
  const counts: [string, number][] = [
    ["pages", 1],
    [record.error ? "failed" : "ok", 1],
    [`status:${record.status === 0 ? "error" : record.status}`, 1],
  ];
  if (record.bytes) counts.push(["bytes", record.bytes]);
  if (robotsBlock === "blocked") counts.push(["blockedByRobots", 1]);
  if (robotsBlock === "unreachable") counts.push(["robotsUnreachable", 1]);
  return counts;
}

/** Totals from a flat map of counters ("status:200" and the like). */
export function totalsFrom(
  counts: Map<string, number>,
  frontier: { seen: number; queued: number; leased: number },
): Totals {
  const statuses: Record<string, number> = {};
  for (const [key, value] of counts) {
    if (key.startsWith("status:") && value) statuses[key.slice(7)] = value;
  }
  const get = (key: string) => counts.get(key) ?? 0;
  return {
    pages: get("pages"),
    ok: get("ok"),
    failed: get("failed"),
    bytes: get("bytes"),
    statuses,
    retries: get("retries"),
    blockedByRobots: get("blockedByRobots"),
    robotsUnreachable: get("robotsUnreachable"),
    duplicates: get("duplicates"),
    ...frontier,
  };
}

/** The frontier could not do its work (a state that cannot be read, a lost server...). */
export class StateError extends Error {
  override name = "StateError";
}

/**
 * The state named by the user cannot be used as given (a bad path, a file that
 * is not a crawl state, a server that does not answer at the start, an output
 * another process writes): a usage error for the command line.
 */
export class StateUsageError extends StateError {
  override name = "StateUsageError";
}

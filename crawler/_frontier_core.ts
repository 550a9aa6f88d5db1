// The frontier's algorithm, over a synchronous store: the in-memory frontier
// and the SQLite one run this same code (the Redis one runs it as a Lua
// script, _frontier_redis_lua.ts, so that each step is atomic on the server).
//
// The data:
// - seen: every key ever added (pages are never added twice);
// - per host, two queues ordered by the time an entry becomes ready: robots.txt
//   jobs and pages. A host's pages wait while one of its origins' robots.txt is
//   pending (`pending` counts them), so no page is fetched before its rules
//   are known;
// - the ready set: each host that may be asked now or later, scored by when
//   (the later of its politeness time `nextAt` and its first entry's ready
//   time); a host with `perHost` requests in flight, or nothing takeable, is
//   out of it. Taking the next job is a lookup of the smallest score: O(log
//   hosts), never a scan of the hosts;
// - leases: the jobs taken, by the run (process) that took them. A run's
//   heartbeat (every step) keeps all its leases; a run whose heartbeat is
//   older than the lease, or whose process is gone, is reaped: its jobs go
//   back to their queues;
// - writers: each consumer of records (an --out file, or one anonymous per
//   run) has an outbox of records committed but not yet acknowledged, and the
//   position (checkpoint) of its output after the last acknowledged one.

import {
  type Delivery,
  type Done,
  type FrontierConfig,
  hostOf,
  type Job,
  jobKey,
  type Opened,
  type PageJob,
  recordCounts,
  type Requeue,
  robotsKey,
  type RobotsVerdict,
  StateError,
  StateUsageError,
  type StepRequest,
  type StepResult,
  type Totals,
  totalsFrom,
} from "./_frontier.ts";
import type { CrawlRecord } from "./crawl.ts";
import { describeRun, isAlive, type RunIdentity } from "./_run_identity.ts";

/** Per-host politeness state. */
export interface HostRow {
  /** Requests in flight (leases on this host). */
  active: number;
  /** The earliest time of the next request. */
  nextAt: number;
  /** The largest Crawl-delay of the host's robots.txt files, in ms. */
  crawlDelay: number;
  /** Origins of this host whose robots.txt is not decided yet. */
  pending: number;
}

/** A taken job. */
export interface LeaseRow {
  token: string;
  host: string;
  job: Job;
}

/** A registered process. */
export interface RunRow extends RunIdentity {
  token: string;
  writer: string;
  expires: number;
}

/** A consumer of records. */
export interface WriterRow {
  name: string;
  /** The run that holds it, or "" when free. */
  token: string;
  /** Anonymous writers' records go to another run when theirs dies. */
  adoptable: boolean;
  /** The last outbox number given. */
  seq: number;
  /**
   * The last outbox number acknowledged: the records up to it are delivered
   * and no longer in the outbox (a store may drop them later, in bulk).
   */
  acked: number;
  /** The output's position after the last acknowledged record, -1 when none. */
  checkpoint: number;
}

/** Where the frontier keeps its data; every call happens inside transaction(). */
export interface Store {
  now(): number;
  transaction<T>(fn: () => T): T;
  hasSeen(key: string): boolean;
  /** Adds `key`; false if it was there. */
  addSeen(key: string): boolean;
  host(name: string): HostRow;
  putHost(name: string, row: HostRow): void;
  push(host: string, robots: boolean, at: number, key: string, job: Job): void;
  headAt(host: string, robots: boolean): number | undefined;
  pop(host: string, robots: boolean): Job | undefined;
  /** Puts `host` in the ready set at `at`, or takes it out (undefined). */
  setReady(host: string, at: number | undefined): void;
  firstReady(): { host: string; at: number } | undefined;
  lease(key: string): LeaseRow | undefined;
  putLease(key: string, row: LeaseRow): void;
  dropLease(key: string): void;
  leasesOf(token: string): string[];
  leaseCount(): number;
  origin(origin: string): RobotsVerdict | null | undefined;
  setOrigin(origin: string, verdict: RobotsVerdict | null): void;
  count(key: string, n: number): void;
  get(key: string): number;
  counts(): Map<string, number>;
  // Runs, writers and outboxes (durable stores).
  run(token: string): RunRow | undefined;
  putRun(row: RunRow): void;
  dropRun(token: string): void;
  runs(): RunRow[];
  expiredRuns(now: number): string[];
  writer(name: string): WriterRow | undefined;
  /** Anonymous writers no run holds. */
  orphanWriters(): string[];
  /** Named writers no run holds, other than `except`, whose outbox holds records: how many. */
  waitingWriters(except: string): { output: string; records: number }[];
  putWriter(row: WriterRow): void;
  /** Drops the writer and whatever its outbox still keeps. */
  dropWriter(name: string): void;
  /** Stores a record under `seq` in `writer`'s outbox. */
  outboxPut(writer: string, seq: number, record: CrawlRecord): void;
  /** The writer's records not acknowledged yet, in order. */
  outbox(writer: string): Delivery[];
  /**
   * Drops `writer`'s records up to `seq` (already acknowledged: outbox() no
   * longer returns them, so a store may do it later, several at once).
   */
  outboxDrop(writer: string, seq: number): void;
}

const SEEN = "frontier:seen";
const QUEUED = "frontier:queued";

/** The frontier's operations over a store. */
export class FrontierCore {
  readonly #store: Store;
  readonly #config: FrontierConfig;
  readonly #token: string;
  readonly #identity: RunIdentity;
  #writer = "";
  /** This run's writer row during a transaction (see #withWriter). */
  #w: WriterRow | undefined;

  constructor(store: Store, config: FrontierConfig, token: string, identity: RunIdentity) {
    this.#store = store;
    this.#config = config;
    this.#token = token;
    this.#identity = identity;
  }

  /** See Frontier.open. */
  open(writer: string | undefined): Opened {
    const s = this.#store;
    return s.transaction(() => {
      const now = s.now();
      this.#reap(now, undefined);
      // Processes of this machine that are gone give their work back at once,
      // without waiting for their leases to run out.
      for (const run of s.runs()) {
        if (run.token !== this.#token && isAlive(run) === false) this.#releaseRun(run.token);
      }
      let opened: Opened = { redeliver: [] };
      if (writer !== undefined) {
        const row = s.writer(writer);
        const holder = row?.token ? s.run(row.token) : undefined;
        if (holder) {
          throw new StateUsageError(
            `${writer.replace(/^[^:]*:/, "")} is being written by another process of this crawl (${
              describeRun(holder)
            }); give each process its own --out`,
          );
        }
        const claimed: WriterRow = row ??
          { name: writer, token: "", adoptable: false, seq: 0, acked: 0, checkpoint: -1 };
        claimed.token = this.#token;
        s.putWriter(claimed);
        opened = {
          checkpoint: claimed.checkpoint < 0 ? undefined : claimed.checkpoint,
          redeliver: s.outbox(writer),
          waiting: s.waitingWriters(writer),
        };
        this.#writer = writer;
      } else {
        this.#writer = `run ${this.#token}`;
        opened.waiting = s.waitingWriters(this.#writer);
        s.putWriter({
          name: this.#writer,
          token: this.#token,
          adoptable: true,
          seq: 0,
          acked: 0,
          checkpoint: -1,
        });
      }
      s.putRun({
        ...this.#identity,
        token: this.#token,
        writer: this.#writer,
        expires: now + this.#config.leaseMs,
      });
      this.#withWriter(() => this.#adoptOrphans(opened.redeliver));
      return opened;
    });
  }

  /** See Frontier.step. */
  step(request: StepRequest, durable: boolean): StepResult {
    const s = this.#store;
    return s.transaction(() =>
      this.#withWriter(() => {
        const now = s.now();
        const result: StepResult = {
          done: [],
          duplicates: 0,
          taken: [],
          adopted: [],
          waitMs: null,
          queued: 0,
          leased: 0,
        };
        if (durable) {
          const run = s.run(this.#token);
          if (!run) {
            throw new StateError(
              `this process was given up by the crawl: it could not renew its leases for longer than the lease (${this.#config.leaseMs} ms), and its URLs went to other processes; run it again to resume`,
            );
          }
          // Renewed when a tenth of the lease has passed, not at every step
          // (hundreds a second): the heartbeat's step every third of the
          // lease still keeps it alive.
          if (run.expires - now < this.#config.leaseMs * 0.9) {
            run.expires = now + this.#config.leaseMs;
            s.putRun(run);
          }
          this.#reap(now, result);
        }
        const touched = new Set<string>();
        for (const job of request.add) this.#add(job, now, touched, result);
        for (const done of request.done) {
          result.done.push(this.#complete(done, now, touched, result));
        }
        for (const requeue of request.requeue) this.#requeue(requeue, now, touched);
        for (const key of request.release) this.#release(key, now, touched);
        if (request.ack && durable) this.#ack(request.ack.seq, request.ack.checkpoint);
        for (const host of touched) this.#refresh(host);
        while (result.taken.length < request.take) {
          const job = this.#take(now);
          if (!job) break;
          result.taken.push(job);
        }
        const first = s.firstReady();
        result.waitMs = first ? Math.max(0, first.at - now) : null;
        result.queued = s.get(QUEUED);
        result.leased = s.leaseCount();
        if (result.duplicates) s.count("duplicates", result.duplicates);
        return result;
      })
    );
  }

  verdicts(origins: string[]): (RobotsVerdict | undefined)[] {
    return this.#store.transaction(() => origins.map((o) => this.#store.origin(o) ?? undefined));
  }

  totals(): Totals {
    const s = this.#store;
    return s.transaction(() =>
      totalsFrom(s.counts(), { seen: s.get(SEEN), queued: s.get(QUEUED), leased: s.leaseCount() })
    );
  }

  /** Unregisters this run: its leases go back, its writer is freed. */
  close(): void {
    this.#store.transaction(() => this.#releaseRun(this.#token));
  }

  /** Empties the queues (non-durable stores): the jobs that were in them. */
  drain(hosts: Iterable<string>): Job[] {
    const s = this.#store;
    const jobs: Job[] = [];
    for (const host of hosts) {
      for (const robots of [true, false]) {
        for (let job = s.pop(host, robots); job; job = s.pop(host, robots)) jobs.push(job);
      }
      s.setReady(host, undefined);
    }
    s.count(QUEUED, -s.get(QUEUED));
    return jobs;
  }

  /** Adds a new page if it was never seen (and the crawl is under maxPages). */
  #add(job: PageJob, now: number, touched: Set<string>, result: StepResult): boolean {
    const s = this.#store;
    if (s.get(SEEN) >= this.#config.maxPages) {
      if (s.hasSeen(job.url)) result.duplicates++;
      return false;
    }
    if (!s.addSeen(job.url)) {
      result.duplicates++;
      return false;
    }
    s.count(SEEN, 1);
    this.#enqueue(job, now, touched);
    return true;
  }

  /** Puts a job in its host's queue; a page of an origin never met first queues its robots.txt. */
  #enqueue(job: Job, at: number, touched: Set<string>): void {
    const s = this.#store;
    const host = hostOf(job.hop);
    if (job.kind === "page" && this.#config.robots) {
      const origin = new URL(job.hop).origin;
      if (s.origin(origin) === undefined) {
        s.setOrigin(origin, null);
        const row = s.host(host);
        row.pending++;
        s.putHost(host, row);
        const robots: Job = {
          kind: "robots",
          origin,
          hop: `${origin}/robots.txt`,
          redirects: 0,
          attempt: 0,
        };
        s.push(host, true, at, robotsKey(origin), robots);
        s.count(QUEUED, 1);
      }
    }
    s.push(host, job.kind === "robots", at, jobKey(job), job);
    s.count(QUEUED, 1);
    touched.add(host);
  }

  /** Takes back a lease of this run; undefined when it is not this run's any more. */
  #unlease(key: string, touched: Set<string>): LeaseRow | undefined {
    const s = this.#store;
    const lease = s.lease(key);
    if (!lease || lease.token !== this.#token) return undefined;
    s.dropLease(key);
    const row = s.host(lease.host);
    row.active--;
    s.putHost(lease.host, row);
    touched.add(lease.host);
    return lease;
  }

  #complete(
    done: Done,
    now: number,
    touched: Set<string>,
    result: StepResult,
  ): StepResult["done"][number] {
    const s = this.#store;
    // The commit point of a URL: its lease, its record and its links change
    // together, or not at all. A lease lost (this run was reaped and another
    // process took the URL) refuses the record: the other process's counts.
    if (!this.#unlease(done.key, touched)) return { seq: 0, blocked: [] };
    let seq = -1;
    if (done.record) {
      seq = this.#deliver(done.record);
      for (const [key, n] of recordCounts(done.record, done.robotsBlock)) s.count(key, n);
    }
    for (const link of done.links) this.#add(link, now, touched, result);
    const blocked = done.blocked.map(({ record, reason }) => {
      if (s.get(SEEN) >= this.#config.maxPages || !s.addSeen(record.url)) {
        result.duplicates++;
        return 0;
      }
      s.count(SEEN, 1);
      for (const [key, n] of recordCounts(record, reason)) s.count(key, n);
      return this.#deliver(record);
    });
    if (done.robots) {
      const { origin, verdict, crawlDelayMs } = done.robots;
      if (s.origin(origin) === null) {
        const host = new URL(origin).host;
        const row = s.host(host);
        row.pending--;
        row.crawlDelay = Math.max(row.crawlDelay, crawlDelayMs);
        s.putHost(host, row);
        touched.add(host);
      }
      s.setOrigin(origin, verdict);
    }
    return { seq, blocked };
  }

  /** Numbers a record in this run's outbox (kept there until acknowledged). */
  #deliver(record: CrawlRecord): number {
    const writer = this.#w;
    if (!writer) return -1; // the in-memory frontier keeps no outbox
    writer.seq++;
    this.#store.outboxPut(writer.name, writer.seq, record);
    return writer.seq;
  }

  /** Runs `fn` with this run's writer row read once and written back once (if any). */
  #withWriter<T>(fn: () => T): T {
    const w = this.#store.writer(this.#writer);
    const before = w && `${w.token} ${w.seq} ${w.acked} ${w.checkpoint}`;
    this.#w = w;
    try {
      const result = fn();
      // Written back only when changed: most steps deliver or acknowledge records, not all.
      if (w && `${w.token} ${w.seq} ${w.acked} ${w.checkpoint}` !== before) {
        this.#store.putWriter(w);
      }
      return result;
    } finally {
      this.#w = undefined;
    }
  }

  #requeue(requeue: Requeue, now: number, touched: Set<string>): void {
    if (!this.#unlease(jobKey(requeue.job), touched)) return;
    if (requeue.retry) this.#store.count("retries", 1);
    this.#enqueue(requeue.job, now + requeue.delayMs, touched);
  }

  #release(key: string, now: number, touched: Set<string>): void {
    const lease = this.#unlease(key, touched);
    if (lease) this.#enqueue(lease.job, now, touched);
  }

  #ack(seq: number, checkpoint: number | undefined): void {
    const writer = this.#w;
    if (!writer) return;
    if (seq > writer.acked) {
      writer.acked = seq;
      this.#store.outboxDrop(writer.name, seq);
    }
    if (checkpoint !== undefined) writer.checkpoint = checkpoint;
  }

  /** The ready time of a host, or undefined when nothing of it may be taken. */
  #refresh(host: string): void {
    const s = this.#store;
    const row = s.host(host);
    let at: number | undefined;
    if (row.active < this.#config.perHost) {
      // Its robots.txt jobs, or its pages: never both. The robots.txt queue is
      // looked at even with none pending: a redirect hop of an origin's
      // robots.txt (to another port of the host, say) is queued on the hop's
      // host, whose `pending` does not count it (the origin's host does).
      const robots = s.headAt(host, true);
      const pages = row.pending > 0 ? undefined : s.headAt(host, false);
      const head = robots === undefined
        ? pages
        : pages === undefined
        ? robots
        : Math.min(robots, pages);
      if (head !== undefined) at = Math.max(head, row.nextAt);
    }
    s.setReady(host, at);
  }

  #take(now: number): Job | undefined {
    const s = this.#store;
    for (;;) {
      const first = s.firstReady();
      if (!first || first.at > now) return undefined;
      const row = s.host(first.host);
      let job: Job | undefined;
      const robots = s.headAt(first.host, true); // even with none pending: see #refresh
      if (robots !== undefined && robots <= now) job = s.pop(first.host, true);
      else if (row.pending === 0 && (s.headAt(first.host, false) ?? Infinity) <= now) {
        job = s.pop(first.host, false);
      }
      if (!job) {
        // A stale score: put the host where it belongs and look again.
        this.#refresh(first.host);
        continue;
      }
      s.putLease(jobKey(job), { token: this.#token, host: first.host, job });
      row.active++;
      row.nextAt = now + Math.max(this.#config.delayMs, row.crawlDelay);
      s.putHost(first.host, row);
      s.count(QUEUED, -1);
      this.#refresh(first.host);
      return job;
    }
  }

  /**
   * Anonymous writers whose run is gone: their unacknowledged records are
   * delivered again, by this run (at least once; a named output gets exactly
   * once by rewinding instead).
   */
  #adoptOrphans(into: Delivery[]): void {
    const s = this.#store;
    if (!this.#w) return;
    for (const name of s.orphanWriters()) {
      for (const { record } of s.outbox(name)) into.push({ seq: this.#deliver(record), record });
      s.outboxDrop(name, Infinity);
      s.dropWriter(name);
    }
  }

  /** Releases the runs whose heartbeat is older than their lease. */
  #reap(now: number, result: StepResult | undefined): void {
    let reaped = false;
    for (const token of this.#store.expiredRuns(now)) {
      if (token !== this.#token) {
        this.#releaseRun(token);
        reaped = true;
      }
    }
    if (reaped && result) this.#adoptOrphans(result.adopted);
  }

  /**
   * A run is gone: its leased jobs go back to their queues (they will be
   * fetched again: at most the requests it had in flight), its named writer
   * waits for the next process with that output, and an anonymous writer
   * with unacknowledged records becomes an orphan (see #adoptOrphans).
   */
  #releaseRun(token: string): void {
    const s = this.#store;
    const run = s.run(token);
    const touched = new Set<string>();
    const now = s.now();
    for (const key of s.leasesOf(token)) {
      const lease = s.lease(key)!;
      s.dropLease(key);
      const row = s.host(lease.host);
      row.active--;
      s.putHost(lease.host, row);
      touched.add(lease.host);
      this.#enqueue(lease.job, now, touched);
    }
    for (const host of touched) this.#refresh(host);
    if (run) {
      const writer = s.writer(run.writer);
      if (writer && writer.token === token) {
        if (writer.adoptable && s.outbox(writer.name).length === 0) s.dropWriter(writer.name);
        else {
          writer.token = "";
          s.putWriter(writer);
        }
      }
      s.dropRun(token);
    }
  }
}

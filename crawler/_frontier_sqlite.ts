// The frontier in a SQLite file (--state PATH), through Deno's node:sqlite.
// Each step is one IMMEDIATE transaction: a process killed at any moment
// leaves the file as it was before or after a whole step, never between
// (SQLite's write-ahead log rolls a half-written transaction back). Several
// processes of one machine may share the file: the transaction serialises
// their steps, and each waits (busy_timeout) for the other's.
//
// WAL with synchronous=NORMAL: a transaction is safe once committed against
// a crash of the process (kill -9); a power cut may lose the last ones, as
// it may lose the end of the --out file, which the checkpoint then rewinds.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type Delivery,
  type Frontier,
  type FrontierConfig,
  type Job,
  type Opened,
  type RobotsVerdict,
  StateError,
  StateUsageError,
  type StepRequest,
  type StepResult,
  type Totals,
} from "./_frontier.ts";
import {
  FrontierCore,
  type HostRow,
  type LeaseRow,
  type RunRow,
  type Store,
  type WriterRow,
} from "./_frontier_core.ts";
import type { CrawlRecord } from "./crawl.ts";
import { currentRun, isAlive } from "./_run_identity.ts";
import { Checkpointer, LOG_PAGES_WITHOUT_WORKER } from "./_sqlite_checkpointer.ts";
import { FINGERPRINTS_MAX, FingerprintSet } from "./_fingerprint_set.ts";

/** The format of the file; another format is refused rather than misread. */
const FORMAT = "dmp-crawl-state 3";
/** The format before writers kept their acknowledged number (migrated when opened). */
const FORMAT_2 = "dmp-crawl-state 2";
/** The format before the queue became one table ordered by host (migrated when opened). */
const FORMAT_1 = "dmp-crawl-state 1";
const SQLITE_HEADER = "SQLite format 3\0";

/**
 * The queue, one table ordered as it is read: by host, then robots.txt jobs
 * apart from pages, then ready time and push order; a step's pushes land next
 * to each other. Taking a host's next job does not delete its row: the host's
 * row keeps the last entry taken from each of its two queues (the rows up to
 * it are leased or done), and they are deleted TAKEN_DELETE_EVERY at a time
 * or when the queue runs dry. A deletion at every take rewrote the first page
 * of each host's queue at each commit, and often its neighbours (SQLite
 * rebalances a page that falls below a third full): a third of the pages a
 * commit wrote.
 */
const QUEUE_TABLE = `CREATE TABLE queue (host TEXT NOT NULL, robots INTEGER NOT NULL,
  ready REAL NOT NULL, id INTEGER NOT NULL, job TEXT NOT NULL,
  PRIMARY KEY (host, robots, ready, id)) WITHOUT ROWID;`;

/**
 * The outboxes, one table in the order records are committed: a rowid table
 * grows at its end, so a commit writes its last page (a table ordered by
 * writer and number rebalanced three pages at each of the many splits). It
 * holds the records not acknowledged and at most OUTBOX_DROP_EVERY more per
 * writer, so looking up a writer's records reads it all, rarely: when a
 * process starts or ends.
 */
const OUTBOX_TABLE = `CREATE TABLE outbox (id INTEGER PRIMARY KEY, writer TEXT NOT NULL,
  seq INTEGER NOT NULL, record TEXT NOT NULL);`;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
${QUEUE_TABLE}
CREATE TABLE leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL,
  job TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE hosts (host TEXT PRIMARY KEY, active INTEGER NOT NULL, next_at REAL NOT NULL,
  crawl_delay REAL NOT NULL, pending INTEGER NOT NULL, ready_at REAL,
  pages_taken_ready REAL NOT NULL, pages_taken_id INTEGER NOT NULL,
  robots_taken_ready REAL NOT NULL, robots_taken_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX hosts_ready ON hosts (ready_at) WHERE ready_at IS NOT NULL;
CREATE TABLE origins (origin TEXT PRIMARY KEY, verdict TEXT) WITHOUT ROWID;
CREATE TABLE counts (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE runs (token TEXT PRIMARY KEY, machine TEXT NOT NULL, hostname TEXT NOT NULL,
  pid INTEGER NOT NULL, started TEXT NOT NULL, writer TEXT NOT NULL, expires REAL NOT NULL)
  WITHOUT ROWID;
CREATE INDEX runs_expires ON runs (expires);
CREATE TABLE writers (name TEXT PRIMARY KEY, token TEXT NOT NULL, adoptable INTEGER NOT NULL,
  seq INTEGER NOT NULL, checkpoint INTEGER NOT NULL, acked INTEGER NOT NULL) WITHOUT ROWID;
${OUTBOX_TABLE}
`;

type Row = Record<string, unknown>;

/** The counter that numbers queue entries. */
const QUEUE_IDS = "queue:ids";

/** A queue's entry: its primary key (after the host and kind). */
interface Head {
  ready: number;
  id: number;
}

/** A queue's entry read or pushed, with its job's text (taking it needs no query). */
interface HeadRow extends Head {
  job: string;
}

/** The first entries of a queue, in order, and whether they are all of it. */
interface QueueHead {
  rows: HeadRow[];
  all: boolean;
}

/** Before any entry of a queue was taken (ready times are Date.now() values, ids count from 1). */
const NONE_TAKEN: Head = { ready: -1, id: -1 };

/** The rows of a queue taken since the last deletion that trigger the next. */
const TAKEN_DELETE_EVERY = 64;

/** Acknowledged records are deleted from an outbox this many at a time. */
const OUTBOX_DROP_EVERY = 256;

/** The most entries of a queue's head kept in memory. */
const HEAD_ROWS = 4;

const before = (a: Head, b: Head) => a.ready < b.ready || (a.ready === b.ready && a.id < b.id);

/**
 * A host row read in a transaction: the live row, its ready_at, the last
 * entry taken from each queue (pages, robots.txt jobs), and its fields as last
 * written (undefined: never stored).
 */
type CachedHost = HostRow & {
  readyAt: number | null;
  taken: [Head, Head];
  stored: HostRow & { taken: [Head, Head] } | undefined;
};

const sameHost = (a: CachedHost, b: CachedHost["stored"]) =>
  b !== undefined && a.taken[0] === b.taken[0] && a.taken[1] === b.taken[1] &&
  a.active === b.active && a.nextAt === b.nextAt &&
  a.crawlDelay === b.crawlDelay && a.pending === b.pending;

/** Keys kept at most in the cache of keys found unseen (a few megabytes). */
const UNSEEN_CACHE_MAX = 1 << 16;

/**
 * Host rows and queue heads kept at most (each): past this, the caches start
 * again empty after a commit, so a crawl of millions of hosts stays flat.
 */
const ROW_CACHE_MAX = 1 << 14;

/**
 * The frontier's data in SQLite tables.
 *
 * A step runs a few hundred statements, so the store keeps what it read:
 * host rows (written back once, at the end of a transaction), queue heads
 * and counters. They stay cached from one transaction to the next while no
 * other connection has written the file (SQLite's `data_version` tells), and
 * are dropped when one has, or when a transaction rolls back. What never
 * changes once written is kept regardless: decided robots.txt verdicts, and
 * keys known to be seen (committed).
 */
class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  /** Decided robots.txt verdicts never change: read once. */
  readonly #verdicts = new Map<string, RobotsVerdict>();
  /**
   * Keys known to be in `seen` (committed), as fingerprints (16 bytes a key,
   * see _fingerprint_set.ts): a key seen stays seen, so a hit needs no query.
   * Up to FINGERPRINTS_MAX keys; past that, keys not in it are looked up.
   */
  readonly #seenPrints = new FingerprintSet();
  /** Keys added to `seen`, or found there, by the transaction in progress: in #seenPrints once it commits. */
  readonly #seenNow = new Set<string>();
  /**
   * Keys hasSeen() found unseen. The core asks hasSeen() only once the crawl
   * has maxPages URLs, when `seen` no longer grows, so the answer stays
   * right (addSeen drops a key from here; only a process of the crawl given
   * a larger --max-pages could add one, and the duplicates counter would
   * miss it).
   */
  #unseenCache = new Set<string>();
  /**
   * Whether #seenPrints holds every key of `seen`, so a miss is an answer.
   * Loaded at the first hasSeen() (the crawl has maxPages URLs: `seen` no
   * longer grows, as above) when the keys fit: past --max-pages every link of
   * every page is looked up, most of them never seen.
   */
  #seenComplete = false;
  /** `seen` had more keys than #seenPrints holds (it only grows: not loaded again). */
  #seenTooLarge = false;
  /** #seenPrints was loaded by the transaction in progress (it holds that transaction's keys). */
  #seenLoadedNow = false;
  /** Counters as committed (or read), and the changes to write at the end of the transaction. */
  readonly #countCache = new Map<string, number>();
  readonly #countDelta = new Map<string, number>();
  /** Host rows read (live objects, with ready_at and the row as last written). */
  readonly #hosts = new Map<string, CachedHost>();
  /** The hosts handed out by the transaction in progress: the only rows it may have changed. */
  readonly #hostsUsed = new Set<string>();
  /** The first entries of each queue read, by host: pages' queues, then robots.txt jobs'. */
  readonly #heads = [new Map<string, QueueHead>(), new Map<string, QueueHead>()];
  /** Lease, run and writer rows read or written (live objects, written back by the core). */
  readonly #leases = new Map<string, LeaseRow | undefined>();
  readonly #runs = new Map<string, RunRow | undefined>();
  readonly #writers = new Map<string, WriterRow | undefined>();
  /** `PRAGMA data_version` when the caches above were last right (undefined: not known). */
  #dataVersion: number | undefined;
  /**
   * Per writer, the outbox number up to which this process deleted records
   * (it may be wrong after a rollback: a later delete catches up).
   */
  readonly #outboxDropped = new Map<string, number>();
  /**
   * Per queue (by host: pages' queues, then robots.txt jobs', as #heads), the
   * entries this process took since it last deleted the taken rows
   * (approximate after a rollback or another process's takes: the deletion
   * takes every row up to the last taken, whatever the count).
   */
  readonly #takenSinceDelete = [new Map<string, number>(), new Map<string, number>()];
  /** The job text of the last pop, reused when the same job is leased. */
  #popped: { job: Job; text: string } | undefined;
  #depth = 0;
  readonly #onCommit: () => void;

  constructor(db: DatabaseSync, onCommit: () => void) {
    this.#db = db;
    this.#onCommit = onCommit;
    const sql: Record<string, string> = {
      dataVersion: "PRAGMA data_version",
      hasSeen: "SELECT 1 FROM seen WHERE key = ?",
      seenCount: "SELECT COUNT(*) AS n FROM seen",
      seenKeys: "SELECT key FROM seen",
      addSeen: "INSERT OR IGNORE INTO seen (key) VALUES (?)",
      host: "SELECT * FROM hosts WHERE host = ?",
      putHost: `INSERT INTO hosts (host, active, next_at, crawl_delay, pending, ready_at,
        pages_taken_ready, pages_taken_id, robots_taken_ready, robots_taken_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host) DO UPDATE SET
        active = excluded.active, next_at = excluded.next_at, crawl_delay = excluded.crawl_delay,
        pending = excluded.pending, ready_at = excluded.ready_at,
        pages_taken_ready = excluded.pages_taken_ready, pages_taken_id = excluded.pages_taken_id,
        robots_taken_ready = excluded.robots_taken_ready, robots_taken_id = excluded.robots_taken_id`,
      push: "INSERT INTO queue (host, robots, ready, id, job) VALUES (?, ?, ?, ?, ?)",
      head: `SELECT ready, id, job FROM queue WHERE host = ? AND robots = ? AND (ready, id) > (?, ?)
        ORDER BY ready, id LIMIT 2`,
      dropTaken: "DELETE FROM queue WHERE host = ? AND robots = ? AND (ready, id) <= (?, ?)",
      firstReady:
        "SELECT host, ready_at FROM hosts WHERE ready_at IS NOT NULL ORDER BY ready_at LIMIT 1",
      lease: "SELECT token, host, job FROM leases WHERE key = ?",
      putLease: "INSERT OR REPLACE INTO leases (key, token, host, job) VALUES (?, ?, ?, ?)",
      dropLease: "DELETE FROM leases WHERE key = ?",
      leasesOf: "SELECT key FROM leases WHERE token = ?",
      leaseCount: "SELECT COUNT(*) AS n FROM leases",
      origin: "SELECT verdict FROM origins WHERE origin = ?",
      setOrigin: "INSERT OR REPLACE INTO origins (origin, verdict) VALUES (?, ?)",
      get: "SELECT value FROM counts WHERE key = ?",
      countAll: `INSERT INTO counts (key, value) SELECT key, value FROM json_each(?) WHERE true
        ON CONFLICT (key) DO UPDATE SET value = value + excluded.value`,
      counts: "SELECT key, value FROM counts",
      run: "SELECT * FROM runs WHERE token = ?",
      putRun: `INSERT OR REPLACE INTO runs (token, machine, hostname, pid, started, writer, expires)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
      dropRun: "DELETE FROM runs WHERE token = ?",
      runs: "SELECT * FROM runs",
      expiredRuns: "SELECT token FROM runs WHERE expires < ?",
      writer: "SELECT * FROM writers WHERE name = ?",
      orphanWriters: "SELECT name FROM writers WHERE adoptable = 1 AND token = ''",
      waitingWriters: `SELECT writers.name AS name, COUNT(*) AS records FROM writers
        JOIN outbox ON outbox.writer = writers.name AND outbox.seq > writers.acked
        WHERE writers.adoptable = 0 AND writers.token = '' AND writers.name != ?
        GROUP BY writers.name ORDER BY writers.name`,
      putWriter: `INSERT OR REPLACE INTO writers (name, token, adoptable, seq, checkpoint, acked)
        VALUES (?, ?, ?, ?, ?, ?)`,
      dropWriter: "DELETE FROM writers WHERE name = ?",
      outboxPut: "INSERT INTO outbox (writer, seq, record) VALUES (?, ?, ?)",
      outbox: "SELECT seq, record FROM outbox WHERE writer = ? AND seq > ? ORDER BY seq",
      outboxDrop: "DELETE FROM outbox WHERE writer = ? AND seq <= ?",
    };
    this.#s = Object.fromEntries(
      Object.entries(sql).map(([name, text]) => [name, db.prepare(text)]),
    );
  }

  now(): number {
    return Date.now();
  }

  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    // IMMEDIATE: take the write lock first, so two processes never both read
    // and then fail to upgrade (SQLITE_BUSY inside the transaction).
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    let committed = false;
    try {
      // Read under the write lock: no other connection can commit until ours ends.
      const version = (this.#s.dataVersion.get() as Row).data_version as number;
      if (version !== this.#dataVersion) this.#forget();
      this.#dataVersion = version;
      const result = fn();
      // The counters a step changed (four to eight), in one statement.
      const changed = [...this.#countDelta].filter(([, n]) => n !== 0);
      if (changed.length > 0) this.#s.countAll.run(JSON.stringify(Object.fromEntries(changed)));
      // Host rows changed since they were last written, written once each (a
      // row whose lease was taken and given back in the same step is as it
      // was). The core changes a row only through what host() handed out in
      // this transaction, so only those are looked at.
      for (const name of this.#hostsUsed) {
        const row = this.#hosts.get(name)!;
        if (!sameHost(row, row.stored)) this.#writeHost(name, row);
      }
      this.#db.exec("COMMIT");
      committed = true;
      return result;
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // The transaction was already rolled back by SQLite.
      }
      throw error;
    } finally {
      this.#depth--;
      if (committed) {
        for (const key of this.#seenNow) {
          if (!this.#seenPrints.add(key)) {
            // Full: it no longer holds every key.
            this.#seenComplete = false;
            this.#seenTooLarge = true;
            break;
          }
        }
        for (const [key, n] of this.#countDelta) {
          const known = this.#countCache.get(key);
          if (known !== undefined) this.#countCache.set(key, known + n);
        }
        if (
          this.#hosts.size > ROW_CACHE_MAX ||
          this.#heads[0].size + this.#heads[1].size > ROW_CACHE_MAX ||
          this.#leases.size > ROW_CACHE_MAX
        ) this.#forget();
        this.#onCommit();
      } else {
        // What the caches hold may be what the rollback undid.
        this.#forget();
        this.#dataVersion = undefined;
        if (this.#seenLoadedNow) {
          this.#seenPrints.clear();
          this.#seenComplete = false;
        }
      }
      this.#seenLoadedNow = false;
      this.#seenNow.clear();
      this.#hostsUsed.clear();
      this.#countDelta.clear();
      this.#popped = undefined;
    }
  }

  /** Drops what may have changed since it was read. */
  #forget(): void {
    this.#countCache.clear();
    this.#hosts.clear();
    this.#heads[0].clear();
    this.#heads[1].clear();
    this.#leases.clear();
    this.#runs.clear();
    this.#writers.clear();
  }

  hasSeen(key: string): boolean {
    if (this.#seenPrints.has(key) || this.#seenNow.has(key)) return true;
    if (this.#seenComplete || this.#unseenCache.has(key)) return false;
    if (!this.#seenTooLarge) {
      // Every key, if they fit (this transaction's too: see #seenLoadedNow).
      const count = (this.#s.seenCount.get() as Row).n as number;
      if (count <= FINGERPRINTS_MAX) {
        this.#seenPrints.clear();
        for (const row of this.#s.seenKeys.iterate()) {
          this.#seenPrints.add((row as Row).key as string);
        }
        this.#seenComplete = true;
        this.#seenLoadedNow = true;
        return this.#seenPrints.has(key);
      }
      this.#seenTooLarge = true;
    }
    const seen = this.#s.hasSeen.get(key) !== undefined;
    if (seen) this.#seenNow.add(key);
    else {
      if (this.#unseenCache.size >= UNSEEN_CACHE_MAX) this.#unseenCache = new Set();
      this.#unseenCache.add(key);
    }
    return seen;
  }
  addSeen(key: string): boolean {
    if (this.#seenPrints.has(key) || this.#seenNow.has(key)) return false;
    this.#unseenCache.delete(key);
    const added = this.#s.addSeen.run(key).changes === 1;
    this.#seenNow.add(key);
    return added;
  }
  #host(name: string): CachedHost {
    let row = this.#hosts.get(name);
    if (!row) {
      const found = this.#s.host.get(name) as Row | undefined;
      const host: HostRow = found
        ? {
          active: found.active as number,
          nextAt: found.next_at as number,
          crawlDelay: found.crawl_delay as number,
          pending: found.pending as number,
        }
        : { active: 0, nextAt: 0, crawlDelay: 0, pending: 0 };
      const taken: [Head, Head] = found
        ? [
          { ready: found.pages_taken_ready as number, id: found.pages_taken_id as number },
          { ready: found.robots_taken_ready as number, id: found.robots_taken_id as number },
        ]
        : [NONE_TAKEN, NONE_TAKEN];
      row = {
        ...host,
        readyAt: (found?.ready_at ?? null) as number | null,
        taken,
        // A host never stored is written even unchanged.
        stored: found ? { ...host, taken: [taken[0], taken[1]] } : undefined,
      };
      this.#hosts.set(name, row);
    }
    this.#hostsUsed.add(name);
    return row;
  }
  host(name: string): HostRow {
    // The live row, as the in-memory store hands out: changes to it are
    // written at the end of the transaction.
    return this.#host(name);
  }
  putHost(name: string, row: HostRow): void {
    const cached = this.#host(name);
    if (cached !== row) Object.assign(cached, row);
  }
  /** The first entries of a queue: two read at once, so a pop knows the next. */
  #queueHead(host: string, robots: boolean): QueueHead {
    const heads = this.#heads[robots ? 1 : 0];
    let head = heads.get(host);
    if (head === undefined) {
      const kind = robots ? 1 : 0;
      const after = this.#host(host).taken[kind];
      const found = this.#s.head.all(host, kind, after.ready, after.id) as Row[];
      const rows = found.map((row) => ({
        ready: row.ready as number,
        id: row.id as number,
        job: row.job as string,
      }));
      head = { rows, all: rows.length < 2 };
      heads.set(host, head);
      if (rows.length === 0) this.#dropTaken(host, kind, after, true);
    }
    return head;
  }
  /**
   * Deletes the taken rows of a queue (up to `after`, its last taken entry)
   * once TAKEN_DELETE_EVERY were taken, or when it ran dry (`dry`) after
   * takes of this process.
   */
  #dropTaken(host: string, kind: number, after: Head, dry: boolean): void {
    const counts = this.#takenSinceDelete[kind];
    const taken = counts.get(host);
    if (dry ? taken !== undefined : (taken ?? 0) + 1 >= TAKEN_DELETE_EVERY) {
      this.#s.dropTaken.run(host, kind, after.ready, after.id);
      counts.delete(host);
    } else if (!dry) {
      // Bounded like the caches: counting again from 0 only delays a deletion.
      if (counts.size >= ROW_CACHE_MAX) counts.clear();
      counts.set(host, (taken ?? 0) + 1);
    }
  }

  push(host: string, robots: boolean, at: number, _key: string, job: Job): void {
    // Entries are numbered in the order they are pushed: first in, first out
    // among those ready at the same time. An entry must come after the last
    // one taken, or it would never be read: it does, as entries are taken
    // only once ready, unless the clock went back (then it waits that long).
    const id = this.get(QUEUE_IDS);
    this.count(QUEUE_IDS, 1);
    at = Math.max(at, this.#host(host).taken[robots ? 1 : 0].ready);
    const text = JSON.stringify(job);
    this.#s.push.run(host, robots ? 1 : 0, at, id, text);
    const head = this.#heads[robots ? 1 : 0].get(host);
    if (!head) return;
    // The known first entries stay a prefix of the queue: the new one joins
    // them if it comes before the last of them, or if they are all of it.
    const entry = { ready: at, id, job: text };
    const { rows } = head;
    if (head.all || (rows.length > 0 && before(entry, rows[rows.length - 1]))) {
      let i = rows.length;
      while (i > 0 && before(entry, rows[i - 1])) i--;
      rows.splice(i, 0, entry);
      // A few known entries are enough (a pop reads more when they run out):
      // the cache of a long queue must not become the queue.
      if (rows.length > HEAD_ROWS) {
        rows.length = HEAD_ROWS;
        head.all = false;
      }
    }
  }
  headAt(host: string, robots: boolean): number | undefined {
    return this.#queueHead(host, robots).rows[0]?.ready;
  }
  pop(host: string, robots: boolean): Job | undefined {
    const head = this.#queueHead(host, robots);
    const first = head.rows.shift();
    if (!first) return undefined;
    const kind = robots ? 1 : 0;
    // Taken: the host's row (written at the end of the transaction, with the
    // lease) now says so; the row itself goes later.
    this.#host(host).taken[kind] = { ready: first.ready, id: first.id };
    this.#dropTaken(host, kind, first, false);
    if (head.rows.length === 0 && head.all) this.#dropTaken(host, kind, first, true);
    if (head.rows.length === 0 && !head.all) this.#heads[kind].delete(host);
    const text = first.job;
    const job = JSON.parse(text) as Job;
    this.#popped = { job, text };
    return job;
  }
  /** Writes a host's whole row as it is now. */
  #writeHost(name: string, row: CachedHost): void {
    const [pages, robots] = row.taken;
    this.#s.putHost.run(
      name,
      row.active,
      row.nextAt,
      row.crawlDelay,
      row.pending,
      row.readyAt,
      pages.ready,
      pages.id,
      robots.ready,
      robots.id,
    );
    row.stored = {
      active: row.active,
      nextAt: row.nextAt,
      crawlDelay: row.crawlDelay,
      pending: row.pending,
      taken: [pages, robots],
    };
  }
  setReady(host: string, at: number | undefined): void {
    const row = this.#host(host);
    const readyAt = at ?? null;
    if (row.readyAt === readyAt) return;
    row.readyAt = readyAt;
    // Written at once (firstReady reads the file), with the rest of the row:
    // the core sets a host's readiness right after changing it, so the write
    // at the end of the transaction then finds it unchanged.
    this.#writeHost(host, row);
  }
  firstReady(): { host: string; at: number } | undefined {
    const row = this.#s.firstReady.get() as Row | undefined;
    return row ? { host: row.host as string, at: row.ready_at as number } : undefined;
  }
  lease(key: string): LeaseRow | undefined {
    if (this.#leases.has(key)) return this.#leases.get(key);
    const row = this.#s.lease.get(key) as Row | undefined;
    const lease = row
      ? { token: row.token as string, host: row.host as string, job: JSON.parse(row.job as string) }
      : undefined;
    this.#leases.set(key, lease);
    return lease;
  }
  putLease(key: string, row: LeaseRow): void {
    const text = this.#popped?.job === row.job ? this.#popped.text : JSON.stringify(row.job);
    this.#s.putLease.run(key, row.token, row.host, text);
    this.#leases.set(key, row);
  }
  dropLease(key: string): void {
    this.#s.dropLease.run(key);
    this.#leases.delete(key);
  }
  leasesOf(token: string): string[] {
    return (this.#s.leasesOf.all(token) as Row[]).map((row) => row.key as string);
  }
  leaseCount(): number {
    return (this.#s.leaseCount.get() as Row).n as number;
  }
  origin(origin: string): RobotsVerdict | null | undefined {
    const known = this.#verdicts.get(origin);
    if (known) return known;
    const row = this.#s.origin.get(origin) as Row | undefined;
    if (!row) return undefined;
    if (row.verdict === null) return null;
    const verdict = JSON.parse(row.verdict as string) as RobotsVerdict;
    this.#verdicts.set(origin, verdict);
    return verdict;
  }
  setOrigin(origin: string, verdict: RobotsVerdict | null): void {
    this.#s.setOrigin.run(origin, verdict === null ? null : JSON.stringify(verdict));
  }
  count(key: string, n: number): void {
    this.#countDelta.set(key, (this.#countDelta.get(key) ?? 0) + n);
  }
  get(key: string): number {
    let value = this.#countCache.get(key);
    if (value === undefined) {
      value = ((this.#s.get.get(key) as Row | undefined)?.value as number | undefined) ?? 0;
      this.#countCache.set(key, value);
    }
    return value + (this.#countDelta.get(key) ?? 0);
  }
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const row of this.#s.counts.all() as Row[]) {
      counts.set(row.key as string, row.value as number);
    }
    for (const [key, n] of this.#countDelta) counts.set(key, (counts.get(key) ?? 0) + n);
    return counts;
  }
  run(token: string): RunRow | undefined {
    if (this.#runs.has(token)) return this.#runs.get(token);
    const row = this.#s.run.get(token) as unknown as RunRow | undefined;
    const run = row ? { ...row } : undefined;
    this.#runs.set(token, run);
    return run;
  }
  putRun(row: RunRow): void {
    this.#runs.set(row.token, row);
    this.#s.putRun.run(
      row.token,
      row.machine,
      row.hostname,
      row.pid,
      row.started,
      row.writer,
      row.expires,
    );
  }
  dropRun(token: string): void {
    this.#s.dropRun.run(token);
    this.#runs.delete(token);
  }
  runs(): RunRow[] {
    return (this.#s.runs.all() as unknown as RunRow[]).map((row) => ({ ...row }));
  }
  expiredRuns(now: number): string[] {
    return (this.#s.expiredRuns.all(now) as Row[]).map((row) => row.token as string);
  }
  writer(name: string): WriterRow | undefined {
    if (this.#writers.has(name)) return this.#writers.get(name);
    const row = this.#s.writer.get(name) as Row | undefined;
    const writer = row
      ? {
        name: row.name as string,
        token: row.token as string,
        adoptable: row.adoptable === 1,
        seq: row.seq as number,
        acked: row.acked as number,
        checkpoint: row.checkpoint as number,
      }
      : undefined;
    this.#writers.set(name, writer);
    return writer;
  }
  orphanWriters(): string[] {
    return (this.#s.orphanWriters.all() as Row[]).map((row) => row.name as string);
  }
  waitingWriters(except: string): { output: string; records: number }[] {
    return (this.#s.waitingWriters.all(except) as Row[]).map((row) => ({
      output: row.name as string,
      records: Number(row.records),
    }));
  }
  putWriter(row: WriterRow): void {
    this.#s.putWriter.run(
      row.name,
      row.token,
      row.adoptable ? 1 : 0,
      row.seq,
      row.checkpoint,
      row.acked,
    );
    this.#writers.set(row.name, row);
  }
  dropWriter(name: string): void {
    // With the acknowledged records it may still keep (see outboxDrop).
    this.#s.outboxDrop.run(name, Number.MAX_SAFE_INTEGER);
    this.#s.dropWriter.run(name);
    this.#writers.delete(name);
    this.#outboxDropped.delete(name);
  }
  outboxPut(writer: string, seq: number, record: CrawlRecord): void {
    this.#s.outboxPut.run(writer, seq, JSON.stringify(record));
  }
  outbox(writer: string): Delivery[] {
    const acked = this.writer(writer)?.acked ?? 0;
    return (this.#s.outbox.all(writer, acked) as Row[]).map((row) => ({
      seq: row.seq as number,
      record: JSON.parse(row.record as string),
    }));
  }
  outboxDrop(writer: string, seq: number): void {
    // The records stay until OUTBOX_DROP_EVERY more are acknowledged (the
    // writer row's acked number hides them): deleting the head of the outbox
    // at every step rewrote two or three pages of the file each time.
    const dropped = this.#outboxDropped.get(writer) ?? 0;
    if (Number.isFinite(seq) && seq - dropped < OUTBOX_DROP_EVERY) return;
    this.#s.outboxDrop.run(writer, Math.min(seq, Number.MAX_SAFE_INTEGER));
    this.#outboxDropped.set(writer, seq);
  }
}

/** Why a file operation failed, in words. */
function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

/** What is at `path`: nothing, a SQLite file (or an empty one), or something else. */
function inspect(path: string): "none" | "sqlite" | "empty" {
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "none";
    throw new StateUsageError(`state '${path}': ${reason(error)}`);
  }
  if (stat.isDirectory) {
    throw new StateUsageError(`state '${path}' is a directory; give a file path`);
  }
  // A device, a pipe or a socket (/dev/null, a FIFO) has no size and would
  // pass for an empty file, which --fresh deletes: as root, /dev/null itself.
  if (!stat.isFile) {
    throw new StateUsageError(
      `state '${path}' is not a regular file (a device, a pipe or a socket); give a file path`,
    );
  }
  if (stat.size === 0) return "empty";
  let header = "";
  try {
    const file = Deno.openSync(path, { read: true });
    try {
      const bytes = new Uint8Array(16);
      const n = file.readSync(bytes) ?? 0;
      header = new TextDecoder("latin1").decode(bytes.subarray(0, n));
    } finally {
      file.close();
    }
  } catch (error) {
    throw new StateUsageError(`state '${path}': ${reason(error)}`);
  }
  if (header !== SQLITE_HEADER) {
    throw new StateUsageError(
      `state '${path}' is not a SQLite file, so not a crawl's state; give another path (it is left as it is)`,
    );
  }
  return "sqlite";
}

/** Opens (creating if needed) a crawl state database. */
function openDatabase(path: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    throw new StateUsageError(`state '${path}' cannot be opened: ${reason(error)}`);
  }
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    // Looked at and created in one write transaction: two processes starting
    // on a new file at once must not both create the tables. It also fails
    // now, not in the middle of the crawl, if the file cannot be written.
    db.exec("BEGIN IMMEDIATE");
    try {
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all() as Row[]).map((row) => row.name as string);
      if (tables.length === 0) {
        db.exec(SCHEMA);
        db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?)").run(FORMAT);
      } else {
        let format = tables.includes("meta")
          ? (db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as Row | undefined)
            ?.value
          : undefined;
        if (format === FORMAT_1) {
          migrateFromFormat1(db);
          format = FORMAT_2;
        }
        if (format === FORMAT_2) {
          migrateFromFormat2(db);
          format = FORMAT;
        }
        if (format !== FORMAT) {
          throw new StateUsageError(
            format === undefined
              ? `state '${path}' is a SQLite database but not a crawl's state; give another path (it is left as it is)`
              : `state '${path}' is in format '${format}', not '${FORMAT}'; use --fresh to start over`,
          );
        }
      }
      db.exec("COMMIT");
    } catch (error) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // SQLite rolled it back already.
      }
      throw error;
    }
    // Only now that the file is known to be a crawl's state.
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA cache_size = -16000");
    // A checkpoint copies the log into the file and syncs both: every 1000
    // pages (the default) it was a third of a step's cost. They are done in
    // a worker thread (_sqlite_checkpointer.ts); SQLite's own, at about 40
    // MB of log, is there until the worker starts, or if it fails. The log
    // is cut back to 64 MB at most after one.
    db.exec(`PRAGMA wal_autocheckpoint = ${LOG_PAGES_WITHOUT_WORKER}`);
    db.exec("PRAGMA journal_size_limit = 67108864");
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StateUsageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StateUsageError(
      /readonly|read-only|permission/i.test(message)
        ? `state '${path}' cannot be written (${message})`
        : `state '${path}' cannot be read as a crawl's state (${message}); give another path, or --fresh to start over`,
    );
  }
}

/**
 * Format 1 kept the queue in a rowid table with two indexes (by key, and by
 * host and time); format 2 has one table in the order it is read. Run inside
 * the write transaction that opens the file: a kill leaves format 1 whole.
 */
function migrateFromFormat1(db: DatabaseSync): void {
  db.exec(`ALTER TABLE queue RENAME TO queue_format_1;
    ${QUEUE_TABLE}
    INSERT INTO queue (host, robots, ready, id, job)
      SELECT host, robots, ready, id, job FROM queue_format_1;
    DROP TABLE queue_format_1;`);
  db.prepare(
    `INSERT INTO counts (key, value) VALUES (?, (SELECT COALESCE(MAX(id), 0) + 1 FROM queue))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  ).run(QUEUE_IDS);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(FORMAT_2);
}

/**
 * Format 2 deleted a writer's records as soon as they were acknowledged, so
 * every record in its outboxes is unacknowledged: acked starts at 0; and a
 * queue's entries when they were taken, so none is taken (NONE_TAKEN). Its
 * outboxes were a table ordered by writer and number (see OUTBOX_TABLE). Its
 * index of leases by run is dropped (a run's leases are looked for only when
 * it ends, among the few leases there are; keeping the index cost a page of
 * the file at every commit).
 */
function migrateFromFormat2(db: DatabaseSync): void {
  db.exec(`ALTER TABLE writers ADD COLUMN acked INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE hosts ADD COLUMN pages_taken_ready REAL NOT NULL DEFAULT -1;
    ALTER TABLE hosts ADD COLUMN pages_taken_id INTEGER NOT NULL DEFAULT -1;
    ALTER TABLE hosts ADD COLUMN robots_taken_ready REAL NOT NULL DEFAULT -1;
    ALTER TABLE hosts ADD COLUMN robots_taken_id INTEGER NOT NULL DEFAULT -1;
    DROP INDEX IF EXISTS leases_token;
    ALTER TABLE outbox RENAME TO outbox_format_2;
    ${OUTBOX_TABLE}
    INSERT INTO outbox (writer, seq, record)
      SELECT writer, seq, record FROM outbox_format_2 ORDER BY writer, seq;
    DROP TABLE outbox_format_2;`);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(FORMAT);
}

/** The frontier in a SQLite file. */
export class SqliteFrontier implements Frontier {
  readonly durable = true;
  readonly shared = true;
  readonly where: string;
  readonly #db: DatabaseSync;
  readonly #core: FrontierCore;
  readonly #checkpointer: Checkpointer;
  #closed = false;

  private constructor(path: string, db: DatabaseSync, config: FrontierConfig) {
    this.where = path;
    this.#db = db;
    // An absolute path: the worker's connection must open this same file.
    this.#checkpointer = new Checkpointer(db, Deno.realPathSync(path));
    const store = new SqliteStore(db, () => this.#checkpointer.committed());
    this.#core = new FrontierCore(store, config, crypto.randomUUID(), currentRun());
  }

  /** Opens the state at `path`; `fresh` deletes it first (only if it is a crawl's state no live process uses). */
  static open(path: string, config: FrontierConfig, fresh: boolean): SqliteFrontier {
    const found = inspect(path);
    if (found === "none") {
      const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
      let isDirectory = false;
      try {
        isDirectory = Deno.statSync(parent).isDirectory;
      } catch {
        // Reported below.
      }
      if (!isDirectory) throw new StateUsageError(`state '${path}': no such directory '${parent}'`);
    }
    if (fresh && found !== "none") {
      if (found === "sqlite") {
        let db: DatabaseSync | undefined;
        try {
          db = openDatabase(path);
        } catch (error) {
          // A damaged state may be thrown away; a database that is not a crawl's may not.
          if (!(error instanceof StateUsageError) || /not a crawl's state/.test(error.message)) {
            throw error;
          }
        }
        if (db) {
          const runs = db.prepare("SELECT * FROM runs").all() as unknown as RunRow[];
          db.close();
          const live = runs.filter((run) => isAlive(run) ?? run.expires > Date.now());
          if (live.length > 0) {
            throw new StateUsageError(
              `state '${path}' is in use by ${live.length} running process(es) (pid ${
                live.map((run) => run.pid).join(", ")
              }); stop them before --fresh`,
            );
          }
        }
      }
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        try {
          Deno.removeSync(file);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) {
            throw new StateUsageError(`state '${path}' cannot be removed: ${reason(error)}`);
          }
        }
      }
    }
    return new SqliteFrontier(path, openDatabase(path), config);
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof StateError) throw error;
      throw new StateError(
        `the crawl's state '${this.where}' failed: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
  }

  open(writer: string | undefined): Promise<Opened> {
    return Promise.resolve(this.#run(() => this.#core.open(writer)));
  }
  step(request: StepRequest): Promise<StepResult> {
    return Promise.resolve(this.#run(() => this.#core.step(request, true)));
  }
  verdicts(origins: string[]): Promise<(RobotsVerdict | undefined)[]> {
    return Promise.resolve(this.#run(() => this.#core.verdicts(origins)));
  }
  totals(): Promise<Totals> {
    return Promise.resolve(this.#run(() => this.#core.totals()));
  }
  abandon(): Job[] {
    return [];
  }
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#core.close();
    } catch {
      // Unregistering is a courtesy: the lease releases this run anyway.
    }
    // The worker's connection first: the last one to close copies the log
    // into the file and deletes it.
    try {
      await this.#checkpointer.close();
    } finally {
      this.#db.close();
    }
  }
}

// Checkpoints of a SQLite state file in a worker thread. In WAL mode every
// commit appends pages to the log, and a checkpoint copies them into the
// file (reading each page back, writing it, syncing the log and the file).
// Done by the crawl's own connection when the log reaches its size, it stops
// the crawl for ~15 ms each time (~20 times in a crawl of 20,000 pages).
//
// Here a worker thread with a connection of its own copies the log in the
// background (PASSIVE: it never blocks the crawl's transactions). The log can
// only start again from its beginning once every page in it was copied, and
// the crawl commits more while the worker copies; so when the worker is done,
// the crawl's connection copies the little that came meanwhile itself (a few
// milliseconds) and the next commit starts the log over.
//
// SQLite's own automatic checkpoint stays on: while the worker copies, at a
// size the worker keeps the log far under (before, SQLite's came first in a
// crawl's first seconds, when commits are largest); if the worker cannot
// start or fails, at its usual size, and the log is copied as without it.

import type { DatabaseSync } from "node:sqlite";

/** Commits between two background checkpoints (a commit writes 10-30 pages of the log). */
export const CHECKPOINT_EVERY_COMMITS = 250;

/**
 * The size of the log, in pages, at which the crawl's connection copies it
 * itself: SQLite's own checkpoint. Kept while the worker copies, out of its
 * way (a checkpoint by the worker keeps the log far shorter); the fallback
 * otherwise (4 KiB pages: 160 and 40 MB).
 */
const LOG_PAGES_WITH_WORKER = 40_000;
export const LOG_PAGES_WITHOUT_WORKER = 10_000;

/** Copies a state file's log into it in a worker thread; see the top of the file. */
export class Checkpointer {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #every: number;
  /** The file's identity when the crawl opened it (the worker opens no other). */
  readonly #file: { dev: number; ino: number | null };
  #worker: Worker | undefined;
  /** idle: counting commits; copying: the worker is at it; copied: the crawl's connection finishes. */
  #state: "idle" | "copying" | "copied" | "failed" | "closed" = "idle";
  #commits = 0;
  /** Settles when the worker has closed its connection (or failed). */
  #ended: Promise<void> | undefined;
  #end: (() => void) | undefined;
  /** Waiting for the next background checkpoint (see nextCopy). */
  #waiting: ((copied: boolean) => void)[] = [];

  /** `db` is the crawl's connection to the file at `path` (in WAL mode). */
  constructor(db: DatabaseSync, path: string, every = CHECKPOINT_EVERY_COMMITS) {
    this.#db = db;
    this.#path = path;
    this.#every = every;
    const info = Deno.statSync(path);
    this.#file = { dev: info.dev, ino: info.ino };
  }

  /** Called after each commit of the crawl's connection. */
  committed(): void {
    if (this.#state === "copied") {
      this.#state = "idle";
      this.#commits = 0;
      try {
        this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
      } catch {
        // Copied at the next one, or by SQLite's own.
      }
      return;
    }
    if (this.#state !== "idle" || ++this.#commits < this.#every) return;
    try {
      this.#worker ??= this.#start();
    } catch {
      // No worker (a runtime without them, a permission): SQLite's own checkpoints go on.
      this.#state = "failed";
      return;
    }
    this.#state = "copying";
    this.#worker.postMessage({ path: this.#path, ...this.#file });
  }

  #start(): Worker {
    const worker = new Worker(new URL("./_sqlite_checkpoint_worker.ts", import.meta.url), {
      type: "module",
      name: "sqlite checkpoints",
    });
    this.#ended = new Promise((resolve) => this.#end = resolve);
    this.#logPages(LOG_PAGES_WITH_WORKER);
    worker.onmessage = (event: MessageEvent<{ copied?: true; error?: string; closed?: true }>) => {
      if (event.data.closed) return this.#end!();
      if (event.data.error !== undefined) return this.#fail();
      if (this.#state === "copying") this.#state = "copied";
      this.#settle(true);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#fail();
    };
    return worker;
  }

  #fail(): void {
    if (this.#state !== "closed") {
      this.#state = "failed";
      this.#logPages(LOG_PAGES_WITHOUT_WORKER);
    }
    this.#worker?.terminate();
    this.#end?.();
    this.#settle(false);
  }

  /** Sets the log's size at which the crawl's connection copies it itself. */
  #logPages(pages: number): void {
    try {
      this.#db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
    } catch {
      // A connection already closed: nothing to copy.
    }
  }

  #settle(copied: boolean): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(copied);
  }

  /**
   * Settles when the worker next finishes a checkpoint (true) or fails, now
   * or later (false: SQLite's own checkpoints go on). For tests.
   */
  nextCopy(): Promise<boolean> {
    if (this.#state === "failed" || this.#state === "closed") return Promise.resolve(false);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Stops the worker once it has closed its connection (a copy under way finishes first). */
  async close(): Promise<void> {
    const state = this.#state;
    this.#state = "closed";
    this.#settle(false);
    if (!this.#worker) return;
    if (state !== "failed") {
      this.#worker.postMessage({ close: true });
      await this.#ended;
    }
    this.#worker.terminate();
  }
}

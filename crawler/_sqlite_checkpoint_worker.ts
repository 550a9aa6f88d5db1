// The worker thread of _sqlite_checkpointer.ts: copies a state file's
// write-ahead log into the file when asked, on a connection of its own.
//
// Messages in: { path, dev, ino } (copy what the log holds now; the file is
// the one with that device and inode number), { close: true }.
// Messages out: { copied: true }, { error: string }, { closed: true }.

import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

/** A request: the file's path and identity (null on systems without inodes), or the end. */
type Request = { path: string; dev: number; ino: number | null; close?: undefined } | {
  close: true;
};

/** The worker's global scope, as far as this file uses it. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

/**
 * Opens the crawl's file, never another: read-write without creating it (a
 * state deleted during the crawl is not made again, empty), and only if it
 * is still the file the crawl opened (not one put in its place).
 */
function open(path: string, dev: number, ino: number | null): DatabaseSync {
  const url = pathToFileURL(path);
  url.search = "?mode=rw";
  const opened = new DatabaseSync(url);
  const now = Deno.statSync(path);
  if (ino !== null && (now.ino !== ino || now.dev !== dev)) {
    opened.close();
    throw new Error(`'${path}' is no longer the crawl's state file`);
  }
  return opened;
}

let db: DatabaseSync | undefined;

scope.onmessage = (event) => {
  if (event.data.close) {
    try {
      db?.close();
    } finally {
      scope.postMessage({ closed: true });
      scope.close();
    }
    return;
  }
  try {
    if (!db) {
      db = open(event.data.path, event.data.dev, event.data.ino);
      // The same durability as the crawl's connection: the log is synced
      // before it is copied, the file after.
      db.exec("PRAGMA synchronous = NORMAL");
    }
    // PASSIVE: copies what no reader still needs, without waiting for the
    // crawl's connection or blocking its transactions. Twice: the second
    // copies the pages the crawl changed during the first (its busiest ones,
    // changed at every commit), so that what is left for the crawl's own
    // connection to copy is what it changed during the second, a few pages.
    db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    scope.postMessage({ copied: true });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

// The worker thread of _sqlite_checkpointer.ts: copies a state file's
// write-ahead log into the file when asked, on a connection of its own.
//
// Messages in: { path } (copy what the log holds now), { close: true }.
// Messages out: { copied: true }, { error: string }, { closed: true }.

import { DatabaseSync } from "node:sqlite";

/** The worker's global scope, as far as this file uses it. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<{ path?: string; close?: boolean }>) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
};

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
      db = new DatabaseSync(event.data.path!);
      // The same durability as the crawl's connection: the log is synced
      // before it is copied, the file after.
      db.exec("PRAGMA synchronous = NORMAL");
    }
    // PASSIVE: copies what no reader still needs, without waiting for the
    // crawl's connection or blocking its transactions.
    db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    scope.postMessage({ copied: true });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

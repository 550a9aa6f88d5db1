import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Checkpointer } from "../crawler/_sqlite_checkpointer.ts";

/** A WAL database whose log only the checkpointer copies (SQLite's own checkpoints off). */
function walDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
    CREATE TABLE t (v TEXT NOT NULL);`);
  return db;
}

interface Setup {
  dir: string;
  path: string;
  db: DatabaseSync;
  checkpointer: Checkpointer;
}

/**
 * Runs `test` with a WAL database in a new folder and a checkpointer asking
 * its worker every `every` commits to copy `target` (the database's path, by
 * default); closes and deletes everything after.
 */
async function withCheckpointer(
  every: number,
  test: (setup: Setup) => Promise<void>,
  target?: (dir: string) => string,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const db = walDatabase(path);
  const checkpointer = new Checkpointer(db, target?.(dir) ?? path, every);
  try {
    await test({ dir, path, db, checkpointer });
  } finally {
    await checkpointer.close();
    if (db.isOpen) db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** SQLite's own checkpoint's size (in log pages) on `db`. */
const autocheckpoint = (db: DatabaseSync) =>
  (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint;

Deno.test("Checkpointer copies the log into the file in its worker, and the log then starts over", async () => {
  await withCheckpointer(4, async ({ path, db, checkpointer }) => {
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    let commits = 0;
    const commit = () => {
      db.exec("BEGIN IMMEDIATE");
      for (let i = 0; i < 50; i++) insert.run("x".repeat(1000));
      db.exec("COMMIT");
      commits++;
      checkpointer.committed();
    };
    // The log's header holds a number that changes each time it starts over.
    const logSalt = () => {
      const header = new Uint8Array(32);
      const file = Deno.openSync(`${path}-wal`);
      try {
        file.readSync(header);
      } finally {
        file.close();
      }
      return new DataView(header.buffer).getUint32(16);
    };
    const fileBefore = Deno.statSync(path).size;
    for (let round = 0; round < 5; round++) {
      const salt = logSalt();
      const copied = checkpointer.nextCopy();
      let settled = false;
      copied.then(() => settled = true);
      // The crawl goes on committing while the worker copies (the fourth commit asks it).
      while (!settled) {
        commit();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      assertEquals(await copied, true);
      commit(); // copies what was committed meanwhile
      commit(); // starts the log over
      assert(logSalt() !== salt, `round ${round}: the log did not start over`);
    }
    // What was committed is in the file itself, not only in the log.
    assert(Deno.statSync(path).size > fileBefore + 200_000, `${Deno.statSync(path).size}`);
    assertEquals(
      (db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n,
      commits * 50,
    );
  });
});

Deno.test("Checkpointer whose worker cannot open the file gives up quietly; closing does not wait", async () => {
  // The worker is given a directory: its connection fails.
  await withCheckpointer(1, async ({ db, checkpointer }) => {
    const copied = checkpointer.nextCopy();
    db.exec("INSERT INTO t (v) VALUES ('a')");
    checkpointer.committed();
    assertEquals(await copied, false);
    // Given up: no more requests, and nothing waits for one.
    db.exec("INSERT INTO t (v) VALUES ('b')");
    checkpointer.committed();
    assertEquals(await checkpointer.nextCopy(), false);
  }, (dir) => dir);
});

Deno.test("Checkpointer closed while its worker copies lets the copy finish, then stops", async () => {
  await withCheckpointer(1, async ({ path, db, checkpointer }) => {
    db.exec("INSERT INTO t (v) VALUES ('a')");
    checkpointer.committed(); // asks the worker
    await checkpointer.close();
    // The worker's connection is closed: ours is the last, and closing it copies the log and deletes it.
    db.close();
    assertEquals(await Deno.stat(`${path}-wal`).then(() => true, () => false), false);
    const reopened = new DatabaseSync(path);
    assertEquals((reopened.prepare("SELECT v FROM t").get() as { v: string }).v, "a");
    reopened.close();
  });
});

Deno.test("Checkpointer: SQLite's own checkpoint is held off while the worker copies, and back when it fails", async () => {
  for (const failing of [false, true]) {
    await withCheckpointer(1, async ({ db, checkpointer }) => {
      db.exec("PRAGMA wal_autocheckpoint = 10000");
      const copied = checkpointer.nextCopy();
      db.exec("INSERT INTO t (v) VALUES ('a')");
      checkpointer.committed();
      if (!failing) assertEquals(autocheckpoint(db), 40_000);
      assertEquals(await copied, !failing);
      assertEquals(autocheckpoint(db), failing ? 10_000 : 40_000);
      // A directory: the worker fails.
    }, failing ? (dir) => dir : undefined);
  }
});

Deno.test("Checkpointer's worker opens only the crawl's file: never creates a deleted one, never copies one put in its place", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const exists = (file: string) => Deno.stat(file).then(() => true, () => false);
  try {
    // Deleted during the crawl (the crawl goes on, on the file it holds open).
    const db = walDatabase(path);
    const checkpointer = new Checkpointer(db, path, 1);
    try {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) await Deno.remove(file);
      const copied = checkpointer.nextCopy();
      db.exec("INSERT INTO t (v) VALUES ('a')");
      checkpointer.committed();
      assertEquals(await copied, false);
      assertEquals(await exists(path), false, "the worker made a new, empty state file");
    } finally {
      await checkpointer.close();
      db.close();
    }
    // Replaced during the crawl by another database.
    const db2 = walDatabase(path);
    const checkpointer2 = new Checkpointer(db2, path, 1);
    try {
      await Deno.rename(path, `${dir}/moved.db`);
      const other = walDatabase(`${dir}/other.db`);
      other.close();
      await Deno.rename(`${dir}/other.db`, path);
      const copied = checkpointer2.nextCopy();
      db2.exec("INSERT INTO t (v) VALUES ('a')");
      checkpointer2.committed();
      assertEquals(await copied, false);
    } finally {
      await checkpointer2.close();
      db2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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

Deno.test("Checkpointer copies the log into the file in its worker, and the log then starts over", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const db = walDatabase(path);
  const checkpointer = new Checkpointer(db, path, 4);
  try {
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
  } finally {
    await checkpointer.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpointer whose worker cannot open the file gives up quietly; closing does not wait", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const db = walDatabase(path);
  // The worker is given a directory: its connection fails.
  const checkpointer = new Checkpointer(db, dir, 1);
  try {
    const copied = checkpointer.nextCopy();
    db.exec("INSERT INTO t (v) VALUES ('a')");
    checkpointer.committed();
    assertEquals(await copied, false);
    // Given up: no more requests, and nothing waits for one.
    db.exec("INSERT INTO t (v) VALUES ('b')");
    checkpointer.committed();
    assertEquals(await checkpointer.nextCopy(), false);
  } finally {
    await checkpointer.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Checkpointer closed while its worker copies lets the copy finish, then stops", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const db = walDatabase(path);
  const checkpointer = new Checkpointer(db, path, 1);
  try {
    db.exec("INSERT INTO t (v) VALUES ('a')");
    checkpointer.committed(); // asks the worker
    await checkpointer.close();
    // The worker's connection is closed: ours is the last, and closing it copies the log and deletes it.
    db.close();
    assertEquals(await Deno.stat(`${path}-wal`).then(() => true, () => false), false);
    const reopened = new DatabaseSync(path);
    assertEquals((reopened.prepare("SELECT v FROM t").get() as { v: string }).v, "a");
    reopened.close();
  } finally {
    if (db.isOpen) db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

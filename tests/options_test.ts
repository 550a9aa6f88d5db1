// Unknown option names are a TypeError that names the option and the close
// match, wherever an options bag is taken: a silently ignored `{ proceses: 2 }`
// leaves the user with the default and no clue.
import assert from "node:assert/strict";
import {
  Barrier,
  Event,
  JoinableQueue,
  Lock,
  Manager,
  Pipe,
  Pool,
  Process,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
  Value,
} from "../mod.ts";
import { closest } from "../lib/_options.ts";
import * as tasks from "./fixtures/tasks.ts";

const modules = [new URL("./fixtures/tasks.ts", import.meta.url)];

Deno.test("closest() finds slips, other cases and Python's spellings, and nothing far off", () => {
  const pool = ["processes", "initializer", "initargs", "maxtasksperchild", "concurrency"];
  assert.equal(closest("proceses", pool), "processes");
  assert.equal(closest("maxTasksPerChild", pool), "maxtasksperchild");
  assert.equal(closest("init_args", pool), "initargs");
  assert.equal(closest("error_callback", ["callback", "errorCallback"]), "errorCallback");
  assert.equal(closest("timout", ["block", "timeout"]), "timeout");
  assert.equal(closest("workers", pool), undefined);
});

Deno.test("Pool refuses unknown options and bad callbacks, naming the close match", async () => {
  assert.throws(() => new Pool({ proceses: 2 } as never), {
    name: "TypeError",
    message: "Cannot create pool: unknown option 'proceses'; did you mean 'processes'?",
  });
  assert.throws(() => new Pool({ workers: 2 } as never), {
    name: "TypeError",
    message: /^Cannot create pool: unknown option 'workers'; the options are 'processes', /,
  });
  await using pool = new Pool({ processes: 1, modules });
  assert.throws(() => pool.applyAsync(tasks.square, [1], { error_callback: () => {} } as never), {
    name: "TypeError",
    message:
      "Cannot call applyAsync(): unknown option 'error_callback'; did you mean 'errorCallback'?",
  });
  assert.throws(
    () => pool.applyAsync(tasks.square, [1], { callback: 42 as never }),
    /Cannot call applyAsync\(\): 'callback' must be a function, received 42/,
  );
  await assert.rejects(pool.map(tasks.square, [1], { chunkSize: 2 } as never), {
    name: "TypeError",
    message: "Cannot call map(): unknown option 'chunkSize'; did you mean 'chunksize'?",
  });
  // map() takes no callbacks (mapAsync does).
  await assert.rejects(
    pool.map(tasks.square, [1], { callback: () => {} } as never),
    /unknown option 'callback'/,
  );
  assert.throws(
    () => pool.mapAsync(tasks.square, [1], { chunksiz: 1 } as never),
    /did you mean 'chunksize'/,
  );
  assert.throws(
    () => pool.starmapAsync(tasks.add, [[1, 2]], { errorcallback: () => {} } as never),
    /did you mean 'errorCallback'/,
  );
  assert.throws(
    () => pool.imap(tasks.square, [1], { chunk: 1 } as never),
    /Cannot call imap\(\): unknown option 'chunk'/,
  );
  assert.throws(
    () => pool.imapUnordered(tasks.square, [1], 5 as never),
    /'options' must be an object, received 5/,
  );
  // Known options still work.
  assert.deepEqual(await pool.map(tasks.square, [1, 2], { chunksize: 1 }), [1, 4]);
  assert.equal(await pool.applyAsync(tasks.square, [3], { callback: () => {} }), 9);
});

Deno.test("Queues, locks, events, barriers, pipes and shared values refuse unknown options", async () => {
  const q = new Queue<number>();
  await assert.rejects(q.put(1, { timout: 5 } as never), {
    name: "TypeError",
    message: "Cannot put: unknown option 'timout'; did you mean 'timeout'?",
  });
  assert.equal(q.qsize(), 0, "nothing was put");
  await assert.rejects(
    q.get({ blocking: false } as never),
    /Cannot get: unknown option 'blocking'/,
  );
  // A number where the options go (Python's q.get(True, 5) habit) is refused, not ignored.
  await assert.rejects(
    q.get(5000 as never),
    /Cannot get: 'options' must be an object, received 5000/,
  );
  await assert.rejects(new JoinableQueue().get({ wait: 1 } as never), /unknown option 'wait'/);
  for (const lock of [new Lock(), new RLock(), new Semaphore(2)]) {
    await assert.rejects(lock.acquire({ blocking: false } as never), {
      name: "TypeError",
      message: /^Cannot acquire: unknown option 'blocking'/,
    });
  }
  assert.throws(() => new Barrier(2, { timeOut: 5 } as never), /did you mean 'timeout'/);
  assert.throws(
    () => Pipe({ duplx: false } as never),
    /Cannot create pipe: unknown option 'duplx'; did you mean 'duplex'\?/,
  );
  assert.throws(() => new SharedArray("i", 2, { locks: false } as never), /did you mean 'lock'/);
  await using manager = new Manager();
  assert.throws(() => manager.Value("i", 0, { Lock: false } as never), /did you mean 'lock'/);
  assert.throws(
    () => new Value("i", 0, { lock: false, extra: 1 } as never),
    /unknown option 'extra'/,
  );
  assert.ok(await new Event().wait(0) === false);
});

Deno.test("Process refuses unknown options", () => {
  assert.throws(
    () => new Process({ target: tasks.square, module: [] } as never),
    /did you mean 'modules'/,
  );
});

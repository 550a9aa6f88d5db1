// The frontier's steps, below the scheduler. Taking the next URL reads the
// ready set's first host, whatever the number of hosts (the scheduler before
// it scanned every host on every call): counted in store calls, not timed.
// The SQLite frontier keeps host rows, queue heads, leases and counters in
// memory from one transaction to the next, and drops them when another
// connection wrote the file: two connections on one file, stepped in turn,
// must each see what the other did.
import assert from "node:assert/strict";
import {
  type Done,
  type FrontierConfig,
  jobKey,
  type PageJob,
  type StepRequest,
} from "../crawler/_frontier.ts";
import { FrontierCore, type Store } from "../crawler/_frontier_core.ts";
import { MemoryStore } from "../crawler/_frontier_memory.ts";
import { SqliteFrontier } from "../crawler/_frontier_sqlite.ts";
import { DatabaseSync } from "node:sqlite";
import { currentRun } from "../crawler/_run_identity.ts";
import type { CrawlRecord } from "../crawler/crawl.ts";

const page = (url: string): PageJob => ({
  kind: "page",
  url,
  hop: url,
  seed: url,
  depth: 0,
  attempt: 0,
  chain: [url],
  firstAt: 0,
});

/** The store calls of one step taking one URL, with `hosts` hosts queued. */
function callsToTakeOne(hosts: number): Record<string, number> {
  const calls: Record<string, number> = {};
  const memory = new MemoryStore();
  const store = new Proxy(memory, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(name)] = (calls[String(name)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as Store;
  const config = { perHost: 1, delayMs: 0, maxPages: Infinity, robots: false, leaseMs: 60_000 };
  const core = new FrontierCore(store, config, "test", currentRun());
  const empty = { done: [], requeue: [], release: [] };
  const add = Array.from({ length: hosts }, (_, i) => page(`http://h${i}.test/`));
  core.step({ ...empty, add, take: 0 }, false);
  for (const key of Object.keys(calls)) delete calls[key];
  const taken = core.step({ ...empty, add: [], take: 1 }, false).taken;
  assert.equal(taken.length, 1);
  return calls;
}

Deno.test("taking the next URL costs the same store calls with 100 hosts queued as with 50,000", () => {
  const few = callsToTakeOne(100);
  const many = callsToTakeOne(50_000);
  assert.deepEqual(many, few);
  const total = Object.values(many).reduce((a, b) => a + b, 0);
  assert.ok(total < 30, `${total} store calls to take one URL: ${JSON.stringify(many)}`);
});

const record = (url: string): CrawlRecord => ({
  url,
  finalUrl: url,
  status: 200,
  contentType: "text/html",
  encoding: "utf-8",
  title: null,
  links: [],
  bytes: 10,
  depth: 0,
  elapsedMs: 1,
});

const done = (url: string): Done => ({ key: url, record: record(url), links: [], blocked: [] });

const step = (part: Partial<StepRequest>): StepRequest => ({
  add: [],
  done: [],
  requeue: [],
  release: [],
  take: 0,
  ...part,
});

const config: FrontierConfig = {
  perHost: 1,
  delayMs: 0,
  maxPages: Infinity,
  robots: false,
  leaseMs: 60_000,
};

Deno.test("SQLite frontier: two connections on one file, stepped in turn, each see the other's steps", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const a = SqliteFrontier.open(path, config, false);
  const b = SqliteFrontier.open(path, config, false);
  try {
    await a.open(undefined);
    await b.open(undefined);
    // One host, one request at a time (perHost 1): a takes the first page.
    const first = await a.step(
      step({ add: [page("http://h.test/1"), page("http://h.test/2")], take: 1 }),
    );
    assert.deepEqual(first.taken.map(jobKey), ["http://h.test/1"]);
    // b reads the host as busy (and keeps what it read).
    assert.deepEqual((await b.step(step({ take: 1 }))).taken, []);
    // a finishes its page: the host is free, in the file.
    assert.equal((await a.step(step({ done: [done("http://h.test/1")] }))).done[0].seq, 1);
    // b must not answer from what it read before a's commit.
    const second = await b.step(step({ take: 1 }));
    assert.deepEqual(second.taken.map(jobKey), ["http://h.test/2"]);
    // Nor a: its queue head had page 2, which b has leased since.
    const none = await a.step(step({ take: 1, add: [page("http://h.test/1")] }));
    assert.deepEqual(none.taken, []);
    assert.equal(none.duplicates, 1);
    // b finishes; the counters each reads are the whole crawl's.
    await b.step(step({ done: [done("http://h.test/2")] }));
    for (const frontier of [a, b]) {
      const totals = await frontier.totals();
      assert.equal(totals.pages, 2);
      assert.equal(totals.queued, 0);
      assert.equal(totals.leased, 0);
    }
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQLite frontier past --max-pages: links are counted as duplicates exactly when seen, in the step that reached the limit and after it", async () => {
  const dir = await Deno.makeTempDir();
  const frontier = SqliteFrontier.open(`${dir}/state.db`, { ...config, maxPages: 3 }, false);
  const urls = (...names: string[]) => names.map((name) => page(`http://h.test/${name}`));
  try {
    await frontier.open(undefined);
    // The first three are added; past the limit, 1 (added in this same step) is a duplicate, 4 is not.
    const first = await frontier.step(step({ add: urls("1", "2", "3", "1", "4") }));
    assert.equal(first.duplicates, 1);
    // In a later step: 2 and 3 (twice) are seen, 5 and 4 are not.
    const later = await frontier.step(step({ add: urls("2", "5", "3", "4", "3") }));
    assert.equal(later.duplicates, 3);
    const totals = await frontier.totals();
    assert.equal(totals.seen, 3);
    assert.equal(totals.duplicates, 4);
  } finally {
    await frontier.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQLite frontier: taken queue entries are deleted in bulk, never taken again (also by the next process), and an entry pushed after the clock went back is still taken", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const urls = Array.from({ length: 100 }, (_, i) => `http://h.test/${i}`);
  const rows = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM queue").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const first = SqliteFrontier.open(path, config, false);
  const taken: string[] = [];
  try {
    await first.open(undefined);
    await first.step(step({ add: urls.map(page) }));
    // One at a time (perHost 1): each step finishes the last page and takes the next.
    let last: string | undefined;
    for (let i = 0; i < 70; i++) {
      const result = await first.step(step({ done: last ? [done(last)] : [], take: 1 }));
      last = jobKey(result.taken[0]);
      taken.push(last);
    }
    await first.step(step({ done: [done(last!)] }));
    // 70 taken: at least 64 of their rows are gone, and none of the 30 left.
    assert.ok(rows() >= 30 && rows() <= 30 + 6, `${rows()} rows in the queue`);
    assert.equal((await first.totals()).queued, 30);
  } finally {
    await first.close();
  }
  const second = SqliteFrontier.open(path, config, false);
  const realNow = Date.now;
  try {
    await second.open(undefined);
    for (let i = 0; i < 30; i++) {
      const result = await second.step(step({ take: 1 }));
      taken.push(jobKey(result.taken[0]));
      await second.step(step({ done: [done(taken.at(-1)!)] }));
    }
    assert.deepEqual(taken, urls, "each once, in the order they were added");
    assert.equal(rows(), 0, "a queue run dry keeps no taken rows");
    // The clock goes back a minute: a new page is queued no earlier than the
    // last one taken, so it is found once the clock is back (by a process
    // that reads the queue from the file).
    const back = realNow() - 60_000;
    Date.now = () => back;
    const late = await second.step(step({ add: [page("http://h.test/late")], take: 1 }));
    assert.deepEqual(late.taken, []);
    Date.now = realNow;
  } finally {
    Date.now = realNow;
    await second.close();
  }
  const third = SqliteFrontier.open(path, config, false);
  try {
    await third.open(undefined);
    const found = await third.step(step({ take: 1 }));
    assert.deepEqual(found.taken.map(jobKey), ["http://h.test/late"]);
  } finally {
    await third.close();
    await Deno.remove(dir, { recursive: true });
  }
});

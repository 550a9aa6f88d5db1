// The frontier's scheduling cost: taking the next URL reads the ready set's
// first host, whatever the number of hosts (the scheduler before it scanned
// every host on every call). Counted in store calls, not timed.
import assert from "node:assert/strict";
import type { PageJob } from "../crawler/_frontier.ts";
import { FrontierCore, type Store } from "../crawler/_frontier_core.ts";
import { MemoryStore } from "../crawler/_frontier_memory.ts";
import { currentRun } from "../crawler/_run_identity.ts";

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

// The frontier in this process's memory (no --state): nothing survives the
// process, and no other process shares it. It runs the same algorithm as the
// SQLite frontier (_frontier_core.ts) over Maps and heaps.

import type {
  Frontier,
  FrontierConfig,
  Job,
  Opened,
  RobotsVerdict,
  StepRequest,
  StepResult,
  Totals,
} from "./_frontier.ts";
import { FrontierCore, type HostRow, type LeaseRow, type Store } from "./_frontier_core.ts";
import { Heap } from "./_heap.ts";
import { currentRun } from "./_run_identity.ts";

interface Entry {
  at: number;
  /** Insertion order: first in, first out among entries ready at the same time. */
  n: number;
  job: Job;
}

interface Host extends HostRow {
  robots?: Heap<Entry>;
  pages?: Heap<Entry>;
  /** The score of this host in the ready heap, undefined when out of it. */
  readyAt?: number;
  /** Bumped at each change of readyAt: older heap items are stale. */
  version: number;
}

const earlier = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.n < b.n);

/** The data of the in-memory frontier. */
export class MemoryStore implements Store {
  readonly #seen = new Set<string>();
  readonly hosts = new Map<string, Host>();
  readonly #ready = new Heap<{ at: number; host: string; version: number }>((a, b) => a.at < b.at);
  readonly #leases = new Map<string, LeaseRow>();
  readonly #origins = new Map<string, RobotsVerdict | null>();
  readonly #counts = new Map<string, number>();
  #n = 0;

  now(): number {
    return performance.now();
  }
  transaction<T>(fn: () => T): T {
    return fn();
  }
  hasSeen(key: string): boolean {
    return this.#seen.has(key);
  }
  addSeen(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }
  #host(name: string): Host {
    let host = this.hosts.get(name);
    if (!host) {
      host = { active: 0, nextAt: 0, crawlDelay: 0, pending: 0, version: 0 };
      this.hosts.set(name, host);
    }
    return host;
  }
  host(name: string): HostRow {
    return this.#host(name);
  }
  putHost(_name: string, _row: HostRow): void {
    // host() handed out the live object.
  }
  push(host: string, robots: boolean, at: number, _key: string, job: Job): void {
    const h = this.#host(host);
    const queue = robots ? (h.robots ??= new Heap(earlier)) : (h.pages ??= new Heap(earlier));
    queue.push({ at, n: this.#n++, job });
  }
  headAt(host: string, robots: boolean): number | undefined {
    const h = this.#host(host);
    return (robots ? h.robots : h.pages)?.peek()?.at;
  }
  pop(host: string, robots: boolean): Job | undefined {
    const h = this.#host(host);
    return (robots ? h.robots : h.pages)?.pop()?.job;
  }
  setReady(host: string, at: number | undefined): void {
    const h = this.#host(host);
    if (h.readyAt === at) return;
    h.readyAt = at;
    h.version++;
    if (at !== undefined) this.#ready.push({ at, host, version: h.version });
    // Stale items are dropped as they reach the top; compact if they pile up.
    if (this.#ready.size > 4 * this.hosts.size + 1024) {
      this.#ready.filter((item) => this.hosts.get(item.host)!.version === item.version);
    }
  }
  firstReady(): { host: string; at: number } | undefined {
    for (;;) {
      const top = this.#ready.peek();
      if (!top) return undefined;
      if (this.hosts.get(top.host)!.version === top.version) return top;
      this.#ready.pop();
    }
  }
  lease(key: string): LeaseRow | undefined {
    return this.#leases.get(key);
  }
  putLease(key: string, row: LeaseRow): void {
    this.#leases.set(key, row);
  }
  dropLease(key: string): void {
    this.#leases.delete(key);
  }
  leasesOf(token: string): string[] {
    return [...this.#leases].filter(([, lease]) => lease.token === token).map(([key]) => key);
  }
  leaseCount(): number {
    return this.#leases.size;
  }
  origin(origin: string): RobotsVerdict | null | undefined {
    return this.#origins.get(origin);
  }
  setOrigin(origin: string, verdict: RobotsVerdict | null): void {
    this.#origins.set(origin, verdict);
  }
  count(key: string, n: number): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
  counts(): Map<string, number> {
    return this.#counts;
  }
  // No runs, writers or outboxes: records go straight to the consumer.
  run(): undefined {
    return undefined;
  }
  putRun(): void {}
  dropRun(): void {}
  runs(): [] {
    return [];
  }
  expiredRuns(): [] {
    return [];
  }
  writer(): undefined {
    return undefined;
  }
  orphanWriters(): [] {
    return [];
  }
  waitingWriters(): [] {
    return [];
  }
  putWriter(): void {}
  dropWriter(): void {}
  outboxPut(): void {}
  outbox(): [] {
    return [];
  }
  outboxDrop(): void {}
}

/** A frontier that lives and dies with this process. */
export class MemoryFrontier implements Frontier {
  readonly durable = false;
  readonly shared = false;
  readonly where = "memory";
  readonly #store = new MemoryStore();
  readonly #core: FrontierCore;

  constructor(config: FrontierConfig) {
    this.#core = new FrontierCore(this.#store, config, "memory", currentRun());
  }

  open(): Promise<Opened> {
    return Promise.resolve({ redeliver: [] });
  }
  step(request: StepRequest): Promise<StepResult> {
    return Promise.resolve(this.#core.step(request, false));
  }
  verdicts(origins: string[]): Promise<(RobotsVerdict | undefined)[]> {
    return Promise.resolve(this.#core.verdicts(origins));
  }
  totals(): Promise<Totals> {
    return Promise.resolve(this.#core.totals());
  }
  abandon(): Job[] {
    return this.#core.drain(this.#store.hosts.keys());
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

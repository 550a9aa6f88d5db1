// The pool's counters and its task times over a sliding window. Recording is
// on the outcome path of every task, so it is two stores in preallocated
// Float64Arrays (a ring of the last WINDOW tasks) and a few additions; the
// sorting for percentiles happens only when someone calls stats().

import type { TimeStats } from "./pool.ts";

/** Tasks the time percentiles cover: the most recent ones. */
export const WINDOW = 1024;

/** The counters and time windows of one pool. */
export class StatsRecorder {
  completed = 0;
  failed = 0;
  cancelled = 0;
  requeued = 0;
  /** Milliseconds tasks ran, summed over the pool's life (for utilization). */
  busyMs = 0;
  #run = new Float64Array(WINDOW);
  #wait = new Float64Array(WINDOW);
  #recorded = 0;

  /** Records one task that ran `runMs` after waiting `waitMs` since its submission. */
  record(runMs: number, waitMs: number): void {
    const i = this.#recorded++ & (WINDOW - 1);
    this.#run[i] = runMs;
    this.#wait[i] = waitMs > 0 ? waitMs : 0;
    this.busyMs += runMs;
  }

  /** The run times of the window. */
  runTime(): TimeStats {
    return summarize(this.#run, Math.min(this.#recorded, WINDOW));
  }

  /** The times from submission to start, over the window. */
  waitTime(): TimeStats {
    return summarize(this.#wait, Math.min(this.#recorded, WINDOW));
  }
}

function summarize(values: Float64Array, count: number): TimeStats {
  if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = values.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  // Nearest rank: the smallest value with at least q of the values at or below it.
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * count) - 1)];
  return {
    count,
    mean: sum / count,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: sorted[count - 1],
  };
}

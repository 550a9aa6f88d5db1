// Timers for per-task timeouts. A setTimeout and its clearTimeout cost ~3 µs
// with few timers and ~15-25 µs with 100k pending (measured), more than a
// whole task's round trip; and tasks submitted with one `timeout` value get
// deadlines in the order they were set. So each delay has a lane: a FIFO of
// deadlines, and one timer for its earliest live one. Cancelling marks an
// entry dead (dead ones are dropped when they reach the head, or all at once
// when the lane has no live entry left, or by compaction when they pile up
// behind a long-lived head). No delay past MAX_DELAY reaches setTimeout.

import { MAX_DELAY } from "./_timeout.ts";

interface Entry {
  due: number;
  fire: (() => void) | undefined; // undefined once cancelled or fired
}

interface Lane {
  entries: Entry[];
  head: number;
  live: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const lanes = new Map<number, Lane>();

/** Calls `fire` once `ms` (finite, >= 0) have passed; returns a function that cancels it. */
export function deadline(ms: number, fire: () => void): () => void {
  let lane = lanes.get(ms);
  if (!lane) {
    lane = { entries: [], head: 0, live: 0, timer: undefined };
    lanes.set(ms, lane);
  }
  const entry: Entry = { due: performance.now() + ms, fire };
  lane.entries.push(entry);
  lane.live++;
  if (lane.timer === undefined) arm(ms, lane);
  const owner = lane;
  return () => {
    if (entry.fire === undefined) return;
    entry.fire = undefined;
    if (--owner.live === 0) return drop(ms, owner);
    const dead = owner.entries.length - owner.head - owner.live;
    if (dead > 1024 && dead > 2 * owner.live) compact(owner);
  };
}

function arm(ms: number, lane: Lane): void {
  while (lane.entries[lane.head].fire === undefined) lane.head++; // live > 0: one is ahead
  const wait = Math.max(0, lane.entries[lane.head].due - performance.now());
  lane.timer = setTimeout(() => expire(ms, lane), Math.min(wait, MAX_DELAY));
}

function expire(ms: number, lane: Lane): void {
  lane.timer = undefined;
  const now = performance.now();
  while (lane.head < lane.entries.length && lane.entries[lane.head].due <= now) {
    const entry = lane.entries[lane.head++];
    const fire = entry.fire;
    if (fire === undefined) continue;
    entry.fire = undefined;
    lane.live--;
    fire();
  }
  if (lane.live === 0) return drop(ms, lane);
  if (lane.head > 1024 && lane.head * 2 > lane.entries.length) {
    lane.entries = lane.entries.slice(lane.head);
    lane.head = 0;
  }
  if (lane.timer === undefined) arm(ms, lane);
}

/** No live deadline left: the lane and its timer go. */
function drop(ms: number, lane: Lane): void {
  clearTimeout(lane.timer);
  lane.timer = undefined;
  if (lanes.get(ms) === lane) lanes.delete(ms);
}

function compact(lane: Lane): void {
  lane.entries = lane.entries.slice(lane.head).filter((entry) => entry.fire !== undefined);
  lane.head = 0;
}

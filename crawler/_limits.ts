// The ranges of the crawler's numeric options, shared by crawl() (which throws
// a RangeError) and the command line (which reports a usage error naming the
// flag). Each bound has a reason: timers take at most 2^31 - 1 ms, a body is
// held in memory as one string, and each worker is a thread.

import { MAX_TIMER_MS } from "./_timer.ts";

/** The longest a server may make the crawler wait (Retry-After, Crawl-delay). */
export const MAX_SERVER_WAIT_MS = 60_000;

/** One numeric option: its CrawlOptions name, CLI flag, bounds, and why the upper bound. */
export interface Limit {
  option: string;
  /** The command-line flag, when there is one. */
  flag?: string;
  min: number;
  max: number;
  /** Appended to messages about the upper bound. */
  why?: string;
}

const MAX_INT32 = 2 ** 31 - 1;

/** The numeric options, by CrawlOptions name. */
export const LIMITS = {
  depth: { option: "depth", flag: "--depth", min: 0, max: MAX_INT32 },
  maxPages: { option: "maxPages", flag: "--max-pages", min: 1, max: MAX_INT32 },
  processes: {
    option: "processes",
    flag: "--processes",
    min: 1,
    max: 256,
    why: "each is a thread",
  },
  concurrency: { option: "concurrency", flag: "--concurrency", min: 1, max: 4096 },
  perHost: { option: "perHost", flag: "--per-host", min: 1, max: 4096 },
  delayMs: {
    option: "delayMs",
    flag: "--delay",
    min: 0,
    max: MAX_TIMER_MS,
    why: "milliseconds, the longest timer delay",
  },
  timeoutMs: {
    option: "timeoutMs",
    flag: "--timeout",
    min: 1,
    max: MAX_TIMER_MS,
    why: "milliseconds, the longest timer delay",
  },
  retries: { option: "retries", flag: "--retries", min: 0, max: 100 },
  maxBytes: {
    option: "maxBytes",
    flag: "--max-bytes",
    min: 1,
    max: 256 * 1024 * 1024,
    why: "256 MiB: a page is held in memory as one string",
  },
  lease: {
    option: "lease",
    flag: "--lease",
    min: 1000,
    max: MAX_TIMER_MS,
    why: "milliseconds: at least a second, at most the longest timer delay",
  },
  backoffMs: {
    option: "backoffMs",
    min: 0,
    max: MAX_SERVER_WAIT_MS,
    why: "milliseconds, the longest back-off",
  },
} as const satisfies Record<string, Limit>;

/** "an integer from MIN to MAX (WHY)": the accepted range, in words. */
export function describeRange(limit: Limit): string {
  return `an integer from ${limit.min} to ${limit.max}${limit.why ? ` (${limit.why})` : ""}`;
}

/** Whether `value` is an integer inside `limit`. */
export function inRange(value: number, limit: Limit): boolean {
  return Number.isSafeInteger(value) && value >= limit.min && value <= limit.max;
}

/** The longest `title` of a record, in characters; a longer one is cut (see {@linkcode clip}). */
export const MAX_TITLE_CHARS = 4096;
/** The longest `--select` field of a record, in characters. */
export const MAX_FIELD_CHARS = 65_536;
/** The longest URL quoted in a record's `error`, in characters. */
export const MAX_MESSAGE_URL_CHARS = 2048;

/**
 * `text` cut at `max` characters (never inside a surrogate pair), with a
 * marker saying how much was cut: `"aaa… [1000 more characters]"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clip } from "./_limits.ts";
 * assert.equal(clip("abcdef", 3), "abc… [3 more characters]");
 * assert.equal(clip("abc", 3), "abc");
 * ```
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… [${text.length - end} more characters]`;
}

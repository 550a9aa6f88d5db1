// The crawler's task functions, run on Pool workers (this module is listed in
// PoolOptions.modules). One call is one HTTP request: retries, redirects and
// politeness are decided on the main thread, which sees every host.
//
// A request's whole cost stays inside its timeout: connecting, waiting for the
// headers and reading the body are aborted at `timeoutMs`, and parsing stops
// at the same deadline.

import { decodePage } from "./_encoding.ts";
import { describeFetchError, type FetchPhase } from "./_fetch_error.ts";
import { extractPage } from "./_html.ts";
import { contentTypeOf } from "./_mime.ts";
import { clip, MAX_MESSAGE_URL_CHARS } from "./_limits.ts";
import { ParseDeadlineError } from "./_parser.ts";
import { select, type Selector } from "./_select.ts";
import { setSafeTimeout } from "./_timer.ts";

/** What one request gave. */
export interface FetchOutcome {
  /** The URL requested. */
  url: string;
  status: number;
  contentType: string | null;
  /** Location of a redirect, resolved. */
  location: string | null;
  /** The Location of a redirect when it is not a URL (`http://[`). */
  invalidLocation?: string;
  /** Retry-After in milliseconds, when the server sent one (unbounded: the caller caps it). */
  retryAfterMs: number | null;
  /** Bytes of body read (after content decoding; at most maxBytes). */
  bytes: number;
  truncated: boolean;
  /** What went wrong, or undefined when a response came and was read. */
  error?: string;
  /** Whether trying again may help (network errors and timeouts before the body was read). */
  retriable?: boolean;
  /** The encoding an HTML page was decoded with (a WHATWG name). */
  encoding?: string;
  /** For HTML pages parsed in the worker. */
  title?: string | null;
  links?: string[];
  fields?: Record<string, string | null>;
  /** The text, when the main thread parses it (or for robots.txt). */
  body?: string;
  elapsedMs: number;
}

/** Options of {@linkcode fetchOnce}. */
export interface FetchTaskOptions {
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  /** "worker": parse HTML here; "main": return the text; "raw": return the text as UTF-8, no parse. */
  parse: "worker" | "main" | "raw";
  selectors: Selector[];
}

/** Makes one request and reads at most `maxBytes` of its body. */
export async function fetchOnce(url: string, options: FetchTaskOptions): Promise<FetchOutcome> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const outcome: FetchOutcome = {
    url,
    status: 0,
    contentType: null,
    location: null,
    retryAfterMs: null,
    bytes: 0,
    truncated: false,
    elapsedMs: 0,
  };
  // Only http(s): Deno's fetch also reads file: and data: URLs.
  if (!/^https?:\/\//i.test(url)) {
    outcome.error = `not fetched: only http and https URLs are fetched, not ${
      clip(url, MAX_MESSAGE_URL_CHARS)
    }`;
    return outcome;
  }
  const controller = new AbortController();
  const timer = setSafeTimeout(() => controller.abort(), options.timeoutMs);
  let phase: FetchPhase = "response";
  let expected: number | undefined;
  let encoded = false;
  try {
    const response = await fetch(url, {
      redirect: "manual",
      signal: controller.signal,
      headers: { "user-agent": options.userAgent, accept: "text/html,*/*;q=0.8" },
    });
    outcome.status = response.status;
    outcome.contentType = response.headers.get("content-type");
    const location = response.headers.get("location");
    if (location && response.status >= 300 && response.status < 400) {
      try {
        outcome.location = new URL(location, url).href;
      } catch {
        // The scheduler decides: a page's record says so; robots.txt is unavailable.
        outcome.invalidLocation = location;
      }
    }
    outcome.retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    const length = Number(response.headers.get("content-length") ?? NaN);
    const coding = response.headers.get("content-encoding");
    encoded = coding !== null && !/^\s*(identity\s*)?$/i.test(coding);
    if (Number.isSafeInteger(length) && !encoded) {
      expected = length;
    }
    phase = "body";
    const bytes = await readCapped(response, options.maxBytes, outcome);
    clearTimeout(timer);
    const essence = contentTypeOf(outcome.contentType)?.essence;
    const xml = essence === "application/xhtml+xml";
    if (options.parse === "raw") {
      outcome.body = new TextDecoder().decode(bytes);
    } else if (essence === "text/html" || xml) {
      const page = decodePage(bytes, outcome.contentType, xml);
      outcome.encoding = page.encoding;
      if (options.parse === "main") {
        outcome.body = page.text;
      } else if (response.status < 300) {
        const facts = extractPage(page.text, url, { encoding: page.encoding, deadline });
        outcome.title = facts.title;
        outcome.links = facts.links;
        if (options.selectors.length > 0) {
          outcome.fields = select(page.text, options.selectors, deadline);
        }
      }
    }
  } catch (error) {
    if (error instanceof ParseDeadlineError) {
      outcome.error = `timed out after ${options.timeoutMs} ms parsing the page (${error.message})`;
    } else if (controller.signal.aborted) {
      outcome.error = phase === "response"
        ? `timed out after ${options.timeoutMs} ms waiting for the response`
        : `timed out after ${options.timeoutMs} ms reading the body (${
          readSoFar(outcome, expected)
        })`;
      outcome.retriable = true;
    } else {
      const failure = describeFetchError(error, phase, encoded);
      outcome.error = failure.message;
      if (phase === "body") outcome.error += ` (${readSoFar(outcome, expected)})`;
      outcome.retriable = failure.retriable;
    }
  } finally {
    clearTimeout(timer);
  }
  outcome.elapsedMs = Math.round(performance.now() - started);
  return outcome;
}

function readSoFar(outcome: FetchOutcome, expected: number | undefined): string {
  return expected === undefined
    ? `${outcome.bytes} bytes read`
    : `${outcome.bytes} of ${expected} bytes read`;
}

/** Reads the body, stopping (and cancelling the stream) past `maxBytes`. */
async function readCapped(
  response: Response,
  maxBytes: number,
  outcome: FetchOutcome,
): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - outcome.bytes;
      if (value.length >= room) {
        chunks.push(value.subarray(0, room));
        outcome.bytes += room;
        // Exactly maxBytes is a complete body only if nothing follows.
        outcome.truncated = value.length > room || !(await reader.read()).done;
        break;
      }
      chunks.push(value);
      outcome.bytes += value.length;
    }
  } finally {
    // Stops the download (and, for a compressed body, the decompression).
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(outcome.bytes);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/**
 * Retry-After as milliseconds (delay-seconds or an HTTP date), null when
 * absent or unreadable. Not capped: a server may ask for years.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

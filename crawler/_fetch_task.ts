// The crawler's task functions, run on Pool workers (this module is listed in
// PoolOptions.modules). One call is one HTTP request: retries, redirects and
// politeness are decided on the main thread, which sees every host.

import { extractPage } from "./_html.ts";
import { select, type Selector } from "./_select.ts";

/** What one request gave. */
export interface FetchOutcome {
  /** The URL requested. */
  url: string;
  status: number;
  contentType: string | null;
  /** Location of a redirect, resolved. */
  location: string | null;
  /** Retry-After in milliseconds, when the server sent one. */
  retryAfterMs: number | null;
  /** Bytes of body read (at most maxBytes). */
  bytes: number;
  truncated: boolean;
  /** A network error, or undefined when a response came. */
  error?: string;
  /** For HTML pages parsed in the worker. */
  title?: string | null;
  links?: string[];
  fields?: Record<string, string | null>;
  /** The body, when the main thread parses it (or for robots.txt). */
  body?: string;
  elapsedMs: number;
}

/** Options of {@linkcode fetchOnce}. */
export interface FetchTaskOptions {
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  /** "worker": parse HTML here; "main": return the body; "raw": return the body, no parse. */
  parse: "worker" | "main" | "raw";
  selectors: Selector[];
}

/** Makes one request and reads at most `maxBytes` of its body. */
export async function fetchOnce(url: string, options: FetchTaskOptions): Promise<FetchOutcome> {
  const started = performance.now();
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
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(url, {
      redirect: "manual",
      signal,
      headers: { "user-agent": options.userAgent, accept: "text/html,*/*;q=0.8" },
    });
    outcome.status = response.status;
    outcome.contentType = response.headers.get("content-type");
    const location = response.headers.get("location");
    if (location && response.status >= 300 && response.status < 400) {
      try {
        outcome.location = new URL(location, url).href;
      } catch {
        outcome.error = `invalid redirect Location: ${location}`;
      }
    }
    outcome.retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    const body = await readCapped(response, options.maxBytes, outcome);
    const isHtml = /^\s*(text\/html|application\/xhtml\+xml)/i.test(outcome.contentType ?? "");
    if (options.parse === "raw" || (options.parse === "main" && isHtml)) {
      outcome.body = body;
    } else if (isHtml && response.status < 300) {
      const facts = extractPage(body, url);
      outcome.title = facts.title;
      outcome.links = facts.links;
      if (options.selectors.length > 0) outcome.fields = select(body, options.selectors);
    }
  } catch (error) {
    outcome.error = signal.aborted
      ? `timed out after ${options.timeoutMs} ms`
      : error instanceof Error
      ? error.message
      : String(error);
  }
  outcome.elapsedMs = Math.round(performance.now() - started);
  return outcome;
}

/** Reads the body as text, stopping (and cancelling the stream) past `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, outcome: FetchOutcome) {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - total;
    if (value.length > room) {
      chunks.push(value.subarray(0, room));
      total += room;
      outcome.truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    total += value.length;
  }
  outcome.bytes = total;
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

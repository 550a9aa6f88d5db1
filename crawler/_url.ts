// URL normalisation and crawl scope.

/**
 * Which discovered links a crawl follows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Scope } from "./_url.ts";
 * const scopes: Scope[] = ["same-host", "same-origin", "same-domain", "any"];
 * assert.equal(scopes.length, 4);
 * ```
 */
export type Scope = "same-host" | "same-origin" | "same-domain" | "any";

/**
 * The form URLs are de-duplicated in: WHATWG-parsed (lower-case scheme and
 * host, default port dropped, dot segments resolved, percent-encoding
 * normalised by the parser), without the fragment; http(s) only.
 * Returns undefined for anything else.
 */
export function normalizeUrl(input: string, base?: string): string | undefined {
  let url: URL;
  try {
    url = new URL(input.trim(), base);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  url.hash = "";
  return url.href;
}

/** The host without a leading "www.": two hosts are the same domain when one ends with the other. */
function domainOf(hostname: string): string {
  return hostname.replace(/^www\./, "");
}

/** Whether `url` is inside the scope of the crawl's `seed` URL. */
export function inScope(url: string, seed: string, scope: Scope): boolean {
  if (scope === "any") return true;
  const a = new URL(url);
  const b = new URL(seed);
  switch (scope) {
    case "same-origin":
      return a.origin === b.origin;
    case "same-host":
      return a.hostname === b.hostname;
    case "same-domain": {
      const domain = domainOf(b.hostname);
      return a.hostname === domain || a.hostname.endsWith(`.${domain}`);
    }
  }
}

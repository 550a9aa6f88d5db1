/**
 * robots.txt (RFC 9309): parse a file once, then ask whether a URL may be
 * fetched by a user agent. The matching follows Google's reference parser,
 * on which the RFC's conformance tests are based: groups by user-agent
 * product token (case-insensitive) with `*` as the fallback, the longest
 * matching rule wins and `allow` wins ties, `*` and `$` in patterns, and
 * paths compared as written (percent-encoding normalised in patterns only).
 *
 * @module
 */

/** One allow or disallow rule. */
interface Rule {
  allow: boolean;
  /** The pattern, with non-ASCII bytes and %-escapes normalised. */
  pattern: string;
  /** Its literal parts between stars, and whether it ends in `$` (split on first use). */
  parts?: string[];
  anchored?: boolean;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay?: number;
}

const BOM = [0xef, 0xbb, 0xbf];

/** A non-negative decimal number: digits, an optional fraction, an optional exponent. */
const DECIMAL = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A parsed robots.txt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RobotsTxt } from "./robots.ts";
 * const robots = RobotsTxt.parse("User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n");
 * assert.ok(!robots.isAllowed("https://example.com/private/x", "dmp-crawler/1.0"));
 * assert.ok(robots.isAllowed("https://example.com/public", "dmp-crawler/1.0"));
 * assert.ok(robots.crawlDelay("dmp-crawler") === 2);
 * ```
 */
export class RobotsTxt {
  /** Sitemap URLs the file lists. */
  readonly sitemaps: readonly string[];
  #groups: Group[];

  private constructor(groups: Group[], sitemaps: string[]) {
    this.#groups = groups;
    this.sitemaps = sitemaps;
  }

  /**
   * Parses a robots.txt file.
   *
   * @param source Its text, or its bytes (UTF-8; a leading byte-order mark is skipped).
   * @returns The parsed rules.
   */
  static parse(source: string | Uint8Array): RobotsTxt {
    const text = typeof source === "string" ? source.replace(/^\uFEFF/, "") : decode(source);
    const groups: Group[] = [];
    const sitemaps: string[] = [];
    let current: Group | undefined;
    let lastWasAgent = false;
    for (const rawLine of text.split(/\r\n|\r|\n/)) {
      // Whitespace is SP and HTAB (RFC 9309); String.trim would also eat a
      // stray U+FEFF, which must keep its line from being recognised.
      const line = trimWs(rawLine.replace(/#.*$/, ""));
      if (!line) continue;
      const parsed = splitLine(line);
      if (!parsed) continue;
      const [key, value] = parsed;
      switch (key) {
        case "user-agent": {
          if (!lastWasAgent || !current) {
            current = { agents: [], rules: [] };
            groups.push(current);
          }
          current.agents.push(productToken(value) || value.toLowerCase());
          lastWasAgent = true;
          continue;
        }
        case "allow":
        case "disallow": {
          // Rules before any user-agent line belong to no group (RFC 9309 2.1).
          if (current && value) {
            current.rules.push({ allow: key === "allow", pattern: normalisePattern(value) });
            if (key === "allow") addIndexPageRule(current, value);
          }
          break;
        }
        case "crawl-delay": {
          // A decimal number of seconds ("2", "0.5", "1e3"); JavaScript's
          // Number() would also read "0x10" as 16 and "0b11" as 3, which no
          // robots.txt parser does: anything else is ignored. Kept as written,
          // however large ("1e9", "1e999" is Infinity): the crawler decides
          // what it does with a delay it cannot honour.
          if (current && DECIMAL.test(value)) current.crawlDelay = Number(value);
          break;
        }
        case "sitemap":
          if (value) sitemaps.push(value);
          break;
      }
      lastWasAgent = false;
    }
    return new RobotsTxt(groups, sitemaps);
  }

  /** A robots.txt that allows everything (for a 4xx robots.txt, per RFC 9309). */
  static allowAll(): RobotsTxt {
    return new RobotsTxt([], []);
  }

  /** A robots.txt that disallows everything (for a 5xx or unreachable robots.txt). */
  static disallowAll(): RobotsTxt {
    return new RobotsTxt([{ agents: ["*"], rules: [{ allow: false, pattern: "/" }] }], []);
  }

  /**
   * Whether `userAgent` may fetch `url`.
   *
   * @param url An absolute URL, or a path.
   * @param userAgent The crawler's user agent; its product token (the leading
   *   letters, `-` and `_`, as in `dmp-crawler/1.0`) selects the group.
   * @returns true when no matching rule disallows it.
   */
  isAllowed(url: string, userAgent: string): boolean {
    const rules = this.#rulesFor(userAgent);
    if (rules.length === 0) return true;
    const path = pathOf(url);
    let best: Rule | undefined;
    for (const rule of rules) {
      if (!matches(path, rule)) continue;
      if (
        !best || rule.pattern.length > best.pattern.length ||
        (rule.pattern.length === best.pattern.length && rule.allow && !best.allow)
      ) {
        best = rule;
      }
    }
    return best?.allow ?? true;
  }

  /**
   * The Crawl-delay (seconds) of the group that applies to `userAgent`, if any.
   *
   * @param userAgent The crawler's user agent.
   * @returns Seconds as written (possibly huge, or Infinity), or undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RobotsTxt } from "./robots.ts";
   * const robots = RobotsTxt.parse("User-agent: *\nCrawl-delay: 1e9\n");
   * assert.equal(robots.crawlDelay("dmp-crawler/0.1"), 1e9);
   * ```
   */
  crawlDelay(userAgent: string): number | undefined {
    const groups = this.#groupsFor(userAgent);
    for (const group of groups) if (group.crawlDelay !== undefined) return group.crawlDelay;
    return undefined;
  }

  #groupsFor(userAgent: string): Group[] {
    const token = productToken(userAgent);
    const specific = token ? this.#groups.filter((g) => g.agents.includes(token)) : [];
    return specific.length > 0 ? specific : this.#groups.filter((g) => g.agents.includes("*"));
  }

  #rulesFor(userAgent: string): Rule[] {
    return this.#groupsFor(userAgent).flatMap((g) => g.rules);
  }
}

/** Decodes bytes as UTF-8, skipping a byte-order mark or a truncated one at the start. */
function decode(bytes: Uint8Array): string {
  let start = 0;
  while (start < BOM.length && start < bytes.length && bytes[start] === BOM[start]) start++;
  return new TextDecoder().decode(bytes.subarray(start));
}

function trimWs(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** `key: value` (or Google's accepted `key value`), key lower-cased; undefined if neither. */
function splitLine(line: string): [string, string] | undefined {
  const colon = line.indexOf(":");
  let key: string;
  let value: string;
  if (colon >= 0) {
    key = trimWs(line.slice(0, colon));
    value = trimWs(line.slice(colon + 1));
  } else {
    const space = line.search(/[ \t]/);
    if (space < 0) return undefined;
    key = line.slice(0, space);
    value = trimWs(line.slice(space));
  }
  key = key.toLowerCase();
  // Common misspellings Google accepts.
  if (key === "useragent" || key === "user agent") key = "user-agent";
  if (key === "dissallow" || key === "dissalow" || key === "disalow" || key === "diasllow") {
    key = "disallow";
  }
  if (key === "site-map") key = "sitemap";
  return [key, value];
}

/** The product token of a user agent: its leading letters, `-` and `_`, lower-cased. */
function productToken(userAgent: string): string {
  const match = /^[A-Za-z_-]+/.exec(userAgent.trim());
  if (userAgent.trim() === "*") return "*";
  return match ? match[0].toLowerCase() : "";
}

/** Percent-encodes non-ASCII (as UTF-8) and upper-cases existing %-escapes, as Google does. */
function normalisePattern(pattern: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(pattern)) {
    out += byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase()}`;
  }
  return out.replace(/%[0-9a-fA-F]{2}/g, (escape) => escape.toUpperCase());
}

/** Google's rule: allowing `/dir/index.html` (or `.htm`) also allows `/dir/` itself. */
function addIndexPageRule(group: Group, value: string): void {
  const match = /^(.*\/)index\.html?$/.exec(value);
  if (match) group.rules.push({ allow: true, pattern: `${normalisePattern(match[1])}$` });
}

/** The path, parameters and query of a URL as written (no fragment); "/" when empty. */
function pathOf(url: string): string {
  let rest = url;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    const slash = rest.search(/[/?]/);
    rest = slash < 0 ? "" : rest.slice(slash);
  }
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  if (rest === "" || rest[0] === "?") rest = `/${rest}`;
  return rest;
}

/**
 * Whether `path` starts with a match of `pattern` (`*` any run, a final `$`
 * the end). The literal parts between stars are found left to right, each at
 * its first place after the one before: with `*` the only wildcard, the
 * leftmost place is never worse, so one pass over the path per part decides,
 * O(path + pattern) with no backtracking. (Tracking every reachable position
 * instead cost pattern x path: a 500 KiB robots.txt of `/*a*a*...` rules held
 * the main thread for seconds per URL.)
 */
function matches(path: string, rule: Rule): boolean {
  if (rule.parts === undefined) {
    rule.anchored = rule.pattern.endsWith("$");
    rule.parts = (rule.anchored ? rule.pattern.slice(0, -1) : rule.pattern).split("*");
  }
  const { parts, anchored } = rule;
  const first = parts[0];
  if (!path.startsWith(first)) return false;
  const last = parts.length - 1;
  if (last === 0) return !anchored || path.length === first.length;
  let at = first.length;
  for (let i = 1; i < last; i++) {
    const found = path.indexOf(parts[i], at);
    if (found < 0) return false;
    at = found + parts[i].length;
  }
  const tail = parts[last];
  return anchored
    ? path.length - tail.length >= at && path.endsWith(tail)
    : path.includes(tail, at);
}

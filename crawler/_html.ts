// What a crawl record needs from a page, taken from a streaming parse (no
// document is built, so it costs a fraction of a DOM parse). The rules follow
// what a WHATWG parse gives (checked against parse5 on the corpus in
// tests/html_test.ts): document.title is the first <title> outside <svg>, with
// ASCII whitespace stripped and collapsed; links are the href of <a> and
// <area>, resolved against the first <base href> (unless it is invalid, data:
// or javascript:, as the HTML standard says), without their fragment,
// http(s) only, each once in document order; <template> content does not
// count (it is not in the document). A crawler runs no scripts, so
// <noscript> content counts, as in a parse with scripting disabled.
//
// Parsing is linear in the page's size (crawler/_parser.ts) and stops at a
// deadline. Links are resolved as the URL standard does in a document of the
// page's encoding: the query part of a link in a GBK page is GBK-encoded.

import { clip, MAX_TITLE_CHARS } from "./_limits.ts";
import { ParseDeadlineError, parseHtml } from "./_parser.ts";
import { encodeQuery, isLegacyEncoding } from "./_query_encoding.ts";

/** What the crawler keeps of a page. */
export interface PageFacts {
  title: string | null;
  links: string[];
}

/** Options of {@linkcode extractPage}. */
export interface ExtractOptions {
  /** The page's encoding (a WHATWG name), for the query part of its links. @default {"utf-8"} */
  encoding?: string;
  /** A `performance.now()` time past which parsing stops with a ParseDeadlineError. */
  deadline?: number;
}

/**
 * Extracts the title and links of an HTML page.
 *
 * @param html The page's text.
 * @param url The page's URL (after redirects), the base for relative links.
 * @throws {ParseDeadlineError} When `options.deadline` passes.
 */
export function extractPage(html: string, url: string, options: ExtractOptions = {}): PageFacts {
  const encoding = options.encoding ?? "utf-8";
  let title: string | null = null;
  let inTitle = false;
  let titleText = "";
  let svgDepth = 0;
  // <template> content is a separate fragment, not part of the document.
  let templateDepth = 0;
  let base: URL | undefined;
  let baseSeen = false;
  const hrefs: string[] = [];
  parseHtml(html, {
    onopentag(name, attributes) {
      if (name === "template") templateDepth++;
      if (templateDepth > 0) return;
      if (name === "svg") svgDepth++;
      else if (name === "title" && title === null && svgDepth === 0) inTitle = true;
      else if (name === "base" && !baseSeen && attributes.href !== undefined) {
        // The first <base href> decides (HTML, "set the frozen base URL"):
        // an invalid URL, or a data: or javascript: one, leaves the document
        // URL as the base; any other (even file: or mailto:) is the base.
        baseSeen = true;
        const frozen = resolve(attributes.href, url, encoding);
        if (frozen && frozen.protocol !== "data:" && frozen.protocol !== "javascript:") {
          base = frozen;
        }
      } else if ((name === "a" || name === "area") && attributes.href !== undefined) {
        hrefs.push(attributes.href);
      }
    },
    ontext(text) {
      if (inTitle) titleText += text;
    },
    onclosetag(name) {
      if (name === "template" && templateDepth > 0) templateDepth--;
      if (templateDepth > 0) return;
      if (name === "svg" && svgDepth > 0) svgDepth--;
      else if (name === "title" && inTitle) {
        inTitle = false;
        title = clip(collapse(titleText), MAX_TITLE_CHARS);
      }
    },
  }, options.deadline);
  if (inTitle) title = clip(collapse(titleText), MAX_TITLE_CHARS); // unclosed <title>
  return { title, links: resolveLinks(hrefs, base?.href ?? url, encoding, options.deadline) };
}

/** Links resolved between two looks at the clock (a few milliseconds of work at most). */
const LINKS_BETWEEN_CHECKS = 512;

/**
 * Absolute http(s) URLs without fragments, each once, in order.
 *
 * @param encoding The document's encoding, for the query part (see {@linkcode resolve}).
 * @param deadline A `performance.now()` time past which resolving stops with a
 *   ParseDeadlineError (a page of a million links takes seconds to resolve).
 */
export function resolveLinks(
  hrefs: string[],
  base: string,
  encoding = "utf-8",
  deadline = Infinity,
): string[] {
  const seen = new Set<string>();
  const links: string[] = [];
  for (let i = 0; i < hrefs.length; i++) {
    if (i % LINKS_BETWEEN_CHECKS === 0 && i > 0 && performance.now() > deadline) {
      throw new ParseDeadlineError(0, 0, `resolving links: stopped after ${i} of ${hrefs.length}`);
    }
    const href = hrefs[i];
    const resolved = resolve(href, base, encoding);
    if (!resolved || (resolved.protocol !== "http:" && resolved.protocol !== "https:")) continue;
    resolved.hash = "";
    const link = resolved.href;
    if (!seen.has(link)) {
      seen.add(link);
      links.push(link);
    }
  }
  return links;
}

/**
 * Parses `href` against `base` as the URL standard does in a document in
 * `encoding`: the query is encoded in that encoding (the path in UTF-8).
 * Returns undefined for an invalid URL.
 */
export function resolve(href: string, base: string, encoding = "utf-8"): URL | undefined {
  let url: URL;
  try {
    // URL parsing strips leading and trailing C0 controls and spaces, as WHATWG does.
    url = new URL(href, base);
  } catch {
    return undefined;
  }
  if (isLegacyEncoding(encoding) && (url.protocol === "http:" || url.protocol === "https:")) {
    const query = rawQuery(href);
    // An ASCII query is the same in every encoding the URL standard uses.
    if (query !== undefined && /[^\p{ASCII}]/u.test(query)) {
      url.search = encodeQuery(query, encoding);
    }
  }
  return url;
}

/** The query of `href` as written (between the first "?" and "#"), if it has one. */
function rawQuery(href: string): string | undefined {
  // What the URL parser sees: outer C0 controls and spaces stripped, tabs and newlines removed.
  // deno-lint-ignore no-control-regex
  const input = href.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
  const question = input.indexOf("?");
  const hash = input.indexOf("#");
  if (question < 0 || (hash >= 0 && hash < question)) return undefined;
  return input.slice(question + 1, hash < 0 ? undefined : hash);
}

function collapse(text: string): string {
  return text.replace(/[\t\n\f\r ]+/g, " ").replace(/^ | $/g, "");
}

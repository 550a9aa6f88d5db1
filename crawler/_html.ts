// What a crawl record needs from a page, taken with a streaming tokenizer
// (htmlparser2): no document is built, so parsing costs a fraction of a DOM
// parse. The rules follow what a WHATWG parse gives (checked against parse5 on
// the corpus in tests/html_test.ts): document.title is the first <title>
// outside <svg>, with ASCII whitespace stripped and collapsed; links are the
// href of <a> and <area>, resolved against the first <base href>, without
// their fragment, http(s) only, each once in document order; <template>
// content does not count (it is not in the document). A crawler runs no
// scripts, so <noscript> content counts, as in a parse with scripting
// disabled. The choice of
// library stays behind this module.

import { Parser } from "htmlparser2";

/** What the crawler keeps of a page. */
export interface PageFacts {
  title: string | null;
  links: string[];
}

/**
 * Extracts the title and links of an HTML page.
 *
 * @param html The page's text.
 * @param url The page's URL (after redirects), the base for relative links.
 */
export function extractPage(html: string, url: string): PageFacts {
  let title: string | null = null;
  let inTitle = false;
  let titleText = "";
  let svgDepth = 0;
  // <template> content is a separate fragment, not part of the document.
  let templateDepth = 0;
  let base: URL | undefined;
  const hrefs: string[] = [];
  const parser = new Parser({
    onopentag(name, attributes) {
      if (name === "template") templateDepth++;
      if (templateDepth > 0) return;
      if (name === "svg") svgDepth++;
      else if (name === "title" && title === null && svgDepth === 0) inTitle = true;
      else if (name === "base" && base === undefined && attributes.href !== undefined) {
        try {
          base = new URL(attributes.href.trim(), url);
        } catch {
          // An invalid base leaves the document URL as the base.
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
        title = collapse(titleText);
      }
    },
  }, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true });
  parser.write(html);
  parser.end();
  if (inTitle) title = collapse(titleText); // unclosed <title>
  return { title, links: resolveLinks(hrefs, base?.href ?? url) };
}

/** Absolute http(s) URLs without fragments, each once, in order. */
export function resolveLinks(hrefs: string[], base: string): string[] {
  const seen = new Set<string>();
  const links: string[] = [];
  for (const href of hrefs) {
    let resolved: URL;
    try {
      // URL parsing strips leading and trailing C0 controls and spaces, as WHATWG does.
      resolved = new URL(href, base);
    } catch {
      continue;
    }
    if (resolved.protocol !== "http:" && resolved.protocol !== "https:") continue;
    resolved.hash = "";
    const link = resolved.href;
    if (!seen.has(link)) {
      seen.add(link);
      links.push(link);
    }
  }
  return links;
}

function collapse(text: string): string {
  return text.replace(/[\t\n\f\r ]+/g, " ").replace(/^ | $/g, "");
}

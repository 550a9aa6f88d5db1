// --select NAME=CSS[@ATTR]: the text of the first element matching a CSS
// selector, or one of its attributes. Builds a document (domhandler's DOM,
// css-select), so it costs a parse; only crawls that ask for fields pay it.
//
// The tree is at most 512 elements deep, as Chromium's parser makes it: an
// element opened deeper becomes a sibling of the element at depth 512 instead
// of its child. Without a bound, a hostile page of nested elements makes
// matching `a b` and reading text cost O(depth) per element, and the
// recursive text walk overflows the stack.

import { DomHandler, parseDocument } from "htmlparser2";
import type { Document, Element } from "domhandler";
import { selectOne } from "css-select";
import { getAttributeValue, textContent } from "domutils";
import { type HtmlHandler, ParseDeadlineError, parseHtml } from "./_parser.ts";

/** The deepest an element is placed in the tree (Chromium's kMaximumHTMLParserDOMTreeDepth). */
export const MAX_TREE_DEPTH = 512;

/**
 * One `--select` field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Selector } from "./_select.ts";
 * const heading: Selector = { name: "heading", css: "h1" };
 * assert.equal(heading.css, "h1");
 * ```
 */
export interface Selector {
  /** The field's name in the record. */
  name: string;
  /** A CSS selector; the first match counts. */
  css: string;
  /** An attribute to read instead of the text. */
  attr?: string;
}

/**
 * Parses `NAME=CSS[@ATTR]`.
 * @throws {TypeError} With what is wrong and the expected form.
 */
export function parseSelector(spec: string): Selector {
  const match = /^([A-Za-z_][\w-]*)=(.+?)(?:@([\w:-]+))?$/.exec(spec);
  if (!match) {
    throw new TypeError(
      `invalid --select '${spec}': expected NAME=CSS or NAME=CSS@ATTR, e.g. h1=h1 or img=img@src`,
    );
  }
  const [, name, css, attr] = match;
  try {
    selectOne(css, parseDocument("<p></p>"));
  } catch (error) {
    throw new TypeError(
      `invalid --select '${spec}': bad CSS selector (${(error as Error).message})`,
    );
  }
  return attr ? { name, css, attr } : { name, css };
}

/**
 * The fields of a page: text (whitespace collapsed) or attribute of the first match, else null.
 *
 * @param deadline A `performance.now()` time; parsing, and matching between two
 *   selectors, stop past it with a ParseDeadlineError.
 */
export function select(
  html: string,
  selectors: Selector[],
  deadline = Infinity,
): Record<string, string | null> {
  const document = buildDocument(html, deadline);
  const fields: Record<string, string | null> = {};
  for (const { name, css, attr } of selectors) {
    if (performance.now() > deadline) throw new ParseDeadlineError(html.length, html.length);
    const element = selectOne(css, document);
    if (!element) fields[name] = null;
    else if (attr) fields[name] = getAttributeValue(element as unknown as Element, attr) ?? null;
    else fields[name] = textContent(element).replace(/\s+/g, " ").trim();
  }
  return fields;
}

/**
 * The document of a page, at most {@linkcode MAX_TREE_DEPTH} elements deep.
 *
 * @param deadline As for {@linkcode select}.
 */
export function buildDocument(html: string, deadline = Infinity): Document {
  const dom = new DomHandler();
  parseHtml(html, new DepthCappedTree(dom), deadline);
  return dom.root;
}

/** Forwards parse events to a DomHandler, keeping its tree at most MAX_TREE_DEPTH deep. */
class DepthCappedTree implements HtmlHandler {
  readonly #dom: DomHandler;
  /** Per open element: whether it is still open in the DomHandler. */
  readonly #open: boolean[] = [];
  #depth = 0;

  constructor(dom: DomHandler) {
    this.#dom = dom;
  }

  onopentag(name: string, attributes: Record<string, string>): void {
    if (this.#depth >= MAX_TREE_DEPTH) {
      // Close the deepest open element (always the last one still open):
      // the new element becomes its next sibling.
      const deepest = this.#open.lastIndexOf(true);
      this.#open[deepest] = false;
      this.#dom.onclosetag();
      this.#depth--;
    }
    this.#open.push(true);
    this.#depth++;
    this.#dom.onopentag(name, { ...attributes });
  }

  onclosetag(): void {
    // Elements closed early above are already closed in the DomHandler.
    if (this.#open.pop()) {
      this.#dom.onclosetag();
      this.#depth--;
    }
  }

  ontext(text: string): void {
    this.#dom.ontext(text);
  }

  oncomment(text: string): void {
    this.#dom.oncomment(text);
  }

  oncommentend(): void {
    this.#dom.oncommentend();
  }

  onprocessinginstruction(name: string, data: string): void {
    this.#dom.onprocessinginstruction(name, data);
  }
}

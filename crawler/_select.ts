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
import { type AnyNode, type Document, type Element, isTag } from "domhandler";
import { type Options, selectOne } from "css-select";
import * as DomUtils from "domutils";
import { clip, MAX_FIELD_CHARS } from "./_limits.ts";
import { type HtmlHandler, ParseDeadlineError, parseHtml } from "./_parser.ts";

const { getAttributeValue, textContent } = DomUtils;

/** css-select's adapter over domhandler nodes (the type it does not export by name). */
type Adapter = NonNullable<Options<AnyNode, Element>["adapter"]>;

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
 * The fields of a page: text (whitespace collapsed) or attribute of the first match, else null;
 * a value longer than {@linkcode MAX_FIELD_CHARS} is cut, with a marker.
 *
 * @param deadline A `performance.now()` time; parsing and matching stop past it
 *   with a ParseDeadlineError (matching looks at the clock every few thousand
 *   steps, so even a selector that is quadratic on the page stops in time).
 */
export function select(
  html: string,
  selectors: Selector[],
  deadline = Infinity,
): Record<string, string | null> {
  const document = buildDocument(html, deadline);
  const fields: Record<string, string | null> = {};
  for (const { name, css, attr } of selectors) {
    const stop = () =>
      new ParseDeadlineError(html.length, html.length, `matching --select ${name}`);
    if (performance.now() > deadline) throw stop();
    const adapter = Number.isFinite(deadline) ? deadlineAdapter(deadline, stop) : undefined;
    const element = selectOne(css, document, { adapter });
    let value: string | null;
    if (!element) value = null;
    else if (attr) value = getAttributeValue(element as unknown as Element, attr) ?? null;
    else value = textContent(element).replace(/\s+/g, " ").trim();
    fields[name] = value === null ? null : clip(value, MAX_FIELD_CHARS);
  }
  return fields;
}

/** Adapter calls (or 64-character units of text read) between two looks at the clock. */
const ADAPTER_CHECK_EVERY = 4096;

/**
 * css-select's default adapter (domutils), with the clock looked at every few
 * thousand calls: matching makes an adapter call for each node it visits, so
 * a selector that is quadratic on a page (`*:nth-last-child(2)` over 100k
 * siblings visits 10^10 of them) stops at the deadline instead of running for
 * minutes. Text read for `:contains()` counts by its length.
 */
function deadlineAdapter(deadline: number, stop: () => Error): Adapter {
  let budget = ADAPTER_CHECK_EVERY;
  const spend = (cost: number) => {
    budget -= cost;
    if (budget <= 0) {
      budget = ADAPTER_CHECK_EVERY;
      if (performance.now() > deadline) throw stop();
    }
  };
  const counted = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
    spend(1);
    return fn(...args);
  };
  return {
    isTag: ((node: AnyNode) => {
      spend(1);
      return isTag(node);
    }) as Adapter["isTag"],
    equals: (a: AnyNode, b: AnyNode) => {
      spend(1);
      return a === b;
    },
    getText: (node: AnyNode) => {
      const text = DomUtils.getText(node);
      spend(1 + (text.length >> 6));
      return text;
    },
    getAttributeValue: counted(DomUtils.getAttributeValue),
    getChildren: counted(DomUtils.getChildren),
    getName: counted(DomUtils.getName),
    getParent: counted(DomUtils.getParent) as Adapter["getParent"],
    getSiblings: counted(DomUtils.getSiblings),
    prevElementSibling: counted(DomUtils.prevElementSibling),
    hasAttrib: counted(DomUtils.hasAttrib),
    removeSubsets: counted(DomUtils.removeSubsets),
  };
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

// --select NAME=CSS[@ATTR]: the text of the first element matching a CSS
// selector, or one of its attributes. Builds a document (htmlparser2's DOM,
// css-select), so it costs a parse; only crawls that ask for fields pay it.

import { parseDocument } from "htmlparser2";
import type { Element } from "domhandler";
import { selectOne } from "css-select";
import { getAttributeValue, textContent } from "domutils";

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

/** The fields of a page: text (whitespace collapsed) or attribute of the first match, else null. */
export function select(html: string, selectors: Selector[]): Record<string, string | null> {
  const document = parseDocument(html, { decodeEntities: true });
  const fields: Record<string, string | null> = {};
  for (const { name, css, attr } of selectors) {
    const element = selectOne(css, document);
    if (!element) fields[name] = null;
    else if (attr) fields[name] = getAttributeValue(element as unknown as Element, attr) ?? null;
    else fields[name] = textContent(element).replace(/\s+/g, " ").trim();
  }
  return fields;
}

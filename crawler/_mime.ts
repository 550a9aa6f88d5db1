// The Content-Type header read as browsers read it: the Fetch standard's
// "extract a MIME type" over the MIME Sniffing standard's "parse a MIME
// type". Parameters are split at semicolons outside quoted strings, so in
// `text/html; x="; charset=gbk"; charset=utf-8` the charset is utf-8, as in a
// browser (a regular expression finds the gbk inside the quotes).

/** A parsed MIME type: its essence ("text/html") and parameters (names lower-cased). */
export interface MimeType {
  /** `type/subtype`, lower-cased. */
  essence: string;
  /** Parameters by lower-cased name; the first of a repeated name wins. */
  parameters: Map<string, string>;
}

const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const TRAILING_WHITESPACE = /[\t\n\r ]+$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const QUOTED_STRING_TOKEN = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The MIME Sniffing standard's "parse a MIME type"; undefined for a failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMimeType } from "./_mime.ts";
 * const mime = parseMimeType('Text/HTML; x="; charset=gbk"; Charset=utf-8')!;
 * assert.equal(mime.essence, "text/html");
 * assert.equal(mime.parameters.get("charset"), "utf-8");
 * ```
 */
export function parseMimeType(input: string): MimeType | undefined {
  const text = input.replace(HTTP_WHITESPACE, "");
  let at = 0;
  const collect = (stop: string) => {
    const start = at;
    while (at < text.length && !stop.includes(text[at])) at++;
    return text.slice(start, at);
  };
  const type = collect("/");
  if (!TOKEN.test(type) || at >= text.length) return undefined;
  at++; // "/"
  const subtype = collect(";").replace(TRAILING_WHITESPACE, "");
  if (!TOKEN.test(subtype)) return undefined;
  const mime: MimeType = {
    essence: `${type}/${subtype}`.toLowerCase(),
    parameters: new Map(),
  };
  while (at < text.length) {
    at++; // ";"
    while (at < text.length && "\t\n\r ".includes(text[at])) at++;
    const name = collect(";=").toLowerCase();
    if (at < text.length) {
      if (text[at] === ";") continue;
      at++; // "="
    }
    if (at >= text.length) break;
    let value: string;
    if (text[at] === '"') {
      const quoted = collectQuotedString(text, at, true);
      value = quoted.value;
      at = quoted.end;
      collect(";");
    } else {
      value = collect(";").replace(TRAILING_WHITESPACE, "");
      if (value === "") continue;
    }
    if (
      name !== "" && TOKEN.test(name) && QUOTED_STRING_TOKEN.test(value) &&
      !mime.parameters.has(name)
    ) {
      mime.parameters.set(name, value);
    }
  }
  return mime;
}

/**
 * The Fetch standard's "collect an HTTP quoted string" from the `"` at `start`:
 * the value (backslash escapes resolved) when `extract`, else the text as
 * written, quotes included; `end` is the position after it.
 */
function collectQuotedString(
  text: string,
  start: number,
  extract: boolean,
): { value: string; end: number } {
  let at = start + 1;
  let value = "";
  for (;;) {
    const from = at;
    while (at < text.length && text[at] !== '"' && text[at] !== "\\") at++;
    value += text.slice(from, at);
    if (at >= text.length) break;
    const quoteOrBackslash = text[at++];
    if (quoteOrBackslash === "\\") {
      if (at >= text.length) {
        value += "\\";
        break;
      }
      value += text[at++];
    } else break;
  }
  return { value: extract ? value : text.slice(start, at), end: at };
}

/**
 * The Fetch standard's "getting, decoding, and splitting" of a header value:
 * the values of a combined header (`a, b`), split at commas outside quoted strings.
 */
function splitHeader(header: string): string[] {
  const values: string[] = [];
  let at = 0;
  let value = "";
  for (;;) {
    const from = at;
    while (at < header.length && header[at] !== '"' && header[at] !== ",") at++;
    value += header.slice(from, at);
    if (at < header.length) {
      if (header[at] === '"') {
        const quoted = collectQuotedString(header, at, false);
        value += quoted.value;
        at = quoted.end;
        if (at < header.length) continue;
      } else at++; // ","
    }
    values.push(value.replace(/^[\t ]+|[\t ]+$/g, ""));
    value = "";
    if (at >= header.length) return values;
  }
}

/**
 * The Fetch standard's "extract a MIME type" from a Content-Type header (as
 * `Headers.get` gives it, several headers joined by ", "); undefined when no
 * value is a MIME type. A later value of the same essence without a charset
 * keeps the earlier charset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contentTypeOf } from "./_mime.ts";
 * assert.equal(contentTypeOf("text/html; charset=gbk, text/html")?.parameters.get("charset"), "gbk");
 * assert.equal(contentTypeOf("text/plain, nonsense")?.essence, "text/plain");
 * ```
 */
export function contentTypeOf(header: string | null): MimeType | undefined {
  if (header === null) return undefined;
  let mime: MimeType | undefined;
  let essence: string | undefined;
  let charset: string | undefined;
  for (const value of splitHeader(header)) {
    const parsed = parseMimeType(value);
    if (!parsed || parsed.essence === "*/*") continue;
    mime = parsed;
    if (parsed.essence !== essence) {
      charset = parsed.parameters.get("charset");
      essence = parsed.essence;
    } else if (!parsed.parameters.has("charset") && charset !== undefined) {
      parsed.parameters.set("charset", charset);
    }
  }
  return mime;
}

// Decoding a page's bytes as a browser does (HTML standard, "determining the
// character encoding"): a byte-order mark, else the Content-Type charset,
// else a <meta charset> or <meta http-equiv="content-type"> in the first 1024
// bytes, else windows-1252. TextDecoder implements every WHATWG encoding
// (GBK, GB18030, Big5, Shift_JIS, EUC-KR, windows-125x, ...).
//
// Not done: a <meta> past the first 1024 bytes (browsers reload the page for
// it) and frequency analysis of the bytes (browsers' locale-based guess).

import { contentTypeOf } from "./_mime.ts";

/** A page's text and the encoding it was decoded with. */
export interface DecodedPage {
  text: string;
  /** A WHATWG encoding name, as TextDecoder's `encoding` ("utf-8", "gbk", ...). */
  encoding: string;
  /** Where the encoding came from. */
  source: "bom" | "content-type" | "meta" | "xml" | "default";
}

/** Labels of the "replacement" encoding (TextDecoder refuses them). */
const REPLACEMENT_LABELS = new Set([
  "csiso2022kr",
  "hz-gb-2312",
  "iso-2022-cn",
  "iso-2022-cn-ext",
  "iso-2022-kr",
  "replacement",
]);

/**
 * The WHATWG encoding of a label ("latin1" is windows-1252, "gb2312" is gbk),
 * or undefined for an unknown label.
 */
export function encodingOf(label: string): string | undefined {
  const trimmed = label.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").toLowerCase();
  if (REPLACEMENT_LABELS.has(trimmed)) return "replacement";
  try {
    return new TextDecoder(trimmed).encoding;
  } catch {
    return undefined;
  }
}

/**
 * The charset parameter of a Content-Type header, if any, read as browsers
 * do (Fetch's "extract a MIME type": quoted strings, repeated headers).
 */
export function charsetOf(contentType: string | null): string | undefined {
  const value = contentTypeOf(contentType)?.parameters.get("charset");
  return value ? value : undefined;
}

/**
 * Decodes a page.
 *
 * @param bytes The body.
 * @param contentType The Content-Type header.
 * @param xml Whether the page is XHTML (no <meta> prescan; UTF-8 by default, as XML).
 */
export function decodePage(
  bytes: Uint8Array,
  contentType: string | null,
  xml = false,
): DecodedPage {
  let encoding = bomEncoding(bytes);
  let source: DecodedPage["source"] = "bom";
  if (!encoding) {
    const label = charsetOf(contentType);
    encoding = label === undefined ? undefined : encodingOf(label);
    source = "content-type";
  }
  if (!encoding) {
    encoding = xml ? xmlDeclarationEncoding(bytes) : prescan(bytes.subarray(0, 1024));
    source = xml ? "xml" : "meta";
  }
  if (!encoding) {
    encoding = xml ? "utf-8" : "windows-1252";
    source = "default";
  }
  if (encoding === "replacement") {
    // These encodings are unsafe to decode: the whole page is one U+FFFD.
    return { text: bytes.length > 0 ? "\uFFFD" : "", encoding, source };
  }
  // The BOM, when there is one, is the encoding's own: TextDecoder drops it.
  return { text: new TextDecoder(encoding).decode(bytes), encoding, source };
}

function bomEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  return undefined;
}

/** `<?xml ... encoding="X"?>` at the start of an XML document. */
function xmlDeclarationEncoding(bytes: Uint8Array): string | undefined {
  const head = latin1(bytes.subarray(0, 1024));
  const match = /^<\?xml[^>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(head);
  const label = match?.[1] ?? match?.[2];
  return label === undefined ? undefined : utf8IfUtf16(encodingOf(label));
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** A declaration inside the bytes cannot be UTF-16 (it would not be readable as ASCII). */
function utf8IfUtf16(encoding: string | undefined): string | undefined {
  if (encoding === "utf-16le" || encoding === "utf-16be") return "utf-8";
  if (encoding === "x-user-defined") return "windows-1252";
  return encoding;
}

const isSpace = (byte: number) =>
  byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d || byte === 0x20;
const isAlpha = (byte: number) => (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a;
const lower = (byte: number) => byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;

/**
 * The HTML standard's "prescan a byte stream to determine its encoding":
 * the first <meta> with a charset, skipping comments and other tags'
 * attributes as a browser's tokenizer would.
 */
export function prescan(bytes: Uint8Array): string | undefined {
  const end = bytes.length;
  let position = 0;
  const startsWith = (text: string, at: number, caseless = false) => {
    for (let i = 0; i < text.length; i++) {
      const byte = bytes[at + i];
      if (byte === undefined) return false;
      if ((caseless ? lower(byte) : byte) !== text.charCodeAt(i)) return false;
    }
    return true;
  };

  /** The standard's "get an attribute": [name, value] and the position after it, or undefined. */
  const getAttribute = (): [string, string] | undefined => {
    while (position < end && (isSpace(bytes[position]) || bytes[position] === 0x2f)) position++;
    if (position >= end || bytes[position] === 0x3e) return undefined;
    let name = "";
    let value = "";
    // The name.
    for (;;) {
      if (position >= end) return undefined;
      const byte = bytes[position];
      if (byte === 0x3d && name !== "") {
        position++;
        break;
      }
      if (isSpace(byte)) {
        while (position < end && isSpace(bytes[position])) position++;
        if (position >= end) return undefined;
        if (bytes[position] !== 0x3d) return [name, ""];
        position++;
        break;
      }
      if (byte === 0x2f || byte === 0x3e) return [name, ""];
      name += String.fromCharCode(lower(byte));
      position++;
    }
    // The value.
    while (position < end && isSpace(bytes[position])) position++;
    if (position >= end) return undefined;
    const first = bytes[position];
    if (first === 0x22 || first === 0x27) {
      position++;
      for (;;) {
        if (position >= end) return undefined;
        const byte = bytes[position++];
        if (byte === first) return [name, value];
        value += String.fromCharCode(lower(byte));
      }
    }
    if (first === 0x3e) return [name, ""];
    for (;;) {
      if (position >= end) return undefined;
      const byte = bytes[position];
      if (isSpace(byte) || byte === 0x3e) return [name, value];
      value += String.fromCharCode(lower(byte));
      position++;
    }
  };

  while (position < end) {
    if (startsWith("<!--", position)) {
      // To the ">" of the first "-->" (whose dashes may be those of "<!--").
      const close = findSequence(bytes, [0x2d, 0x2d, 0x3e], position + 2);
      if (close < 0) return undefined;
      position = close + 2;
    } else if (startsWith("<meta", position, true) && isMetaEnd(bytes[position + 5])) {
      position += 5;
      const seen = new Set<string>();
      let gotPragma = false;
      let needPragma: boolean | undefined;
      let charset: string | undefined;
      for (let attribute = getAttribute(); attribute; attribute = getAttribute()) {
        const [name, value] = attribute;
        if (seen.has(name)) continue;
        seen.add(name);
        if (name === "http-equiv") {
          if (value === "content-type") gotPragma = true;
        } else if (name === "content") {
          if (charset === undefined) {
            const label = charsetFromContent(value);
            if (label !== undefined) {
              charset = encodingOf(label) ?? "";
              needPragma = true;
            }
          }
        } else if (name === "charset") {
          charset = encodingOf(value) ?? "";
          needPragma = false;
        }
      }
      if (position >= end) return undefined;
      if (needPragma !== undefined && (!needPragma || gotPragma) && charset) {
        return utf8IfUtf16(charset);
      }
    } else if (
      (bytes[position] === 0x3c && isAlpha(bytes[position + 1])) ||
      (startsWith("</", position) && isAlpha(bytes[position + 2]))
    ) {
      while (position < end && !isSpace(bytes[position]) && bytes[position] !== 0x3e) position++;
      while (getAttribute());
      if (position >= end) return undefined;
    } else if (
      startsWith("<!", position) || startsWith("</", position) || startsWith("<?", position)
    ) {
      const close = bytes.indexOf(0x3e, position + 2);
      if (close < 0) return undefined;
      position = close;
    }
    position++;
  }
  return undefined;
}

function isMetaEnd(byte: number | undefined): boolean {
  return byte !== undefined && (isSpace(byte) || byte === 0x2f);
}

function findSequence(bytes: Uint8Array, sequence: number[], from: number): number {
  for (let i = from; i + sequence.length <= bytes.length; i++) {
    if (sequence.every((byte, j) => bytes[i + j] === byte)) return i;
  }
  return -1;
}

/** The HTML standard's "extract a character encoding from a meta element" (a content value). */
export function charsetFromContent(content: string): string | undefined {
  let position = 0;
  for (;;) {
    const found = content.toLowerCase().indexOf("charset", position);
    if (found < 0) return undefined;
    position = found + "charset".length;
    while (/[\t\n\f\r ]/.test(content[position] ?? "")) position++;
    if (content[position] !== "=") continue;
    position++;
    while (/[\t\n\f\r ]/.test(content[position] ?? "")) position++;
    const quote = content[position];
    if (quote === '"' || quote === "'") {
      const close = content.indexOf(quote, position + 1);
      return close < 0 ? undefined : content.slice(position + 1, close);
    }
    const rest = content.slice(position);
    const value = /^[^\t\n\f\r ;]*/.exec(rest)![0];
    return value === "" ? undefined : value;
  }
}

// The query of a URL found in a page in a legacy encoding: the URL standard
// encodes it in the document's encoding (the path is always UTF-8). So
// `<a href="?q=é">` in a windows-1252 page asks for `?q=%E9`, and in a GBK page
// `?q=中` is `?q=%D6%D0`; a character the encoding cannot represent becomes
// `%26%23NNNN%3B` (`&#NNNN;`).
//
// The encoders are the WHATWG Encoding standard's, with their tables built
// from the platform's TextDecoder (which implements the same standard): each
// table is decoded once, lazily, the first time a page in that encoding has a
// link with a non-ASCII query, and inverted with the standard's rules for
// which byte sequence wins when several decode to one character. No table is
// shipped, and encoder and decoder cannot disagree.

type Encode = (codePoint: number) => number[] | null;

const encoders = new Map<string, Encode | StatefulEncoder>();

/** Encodings whose URLs are UTF-8 (the URL standard's "get an output encoding"). */
const UTF8_FOR_URLS = new Set(["utf-8", "utf-16le", "utf-16be", "replacement"]);

/** Whether a document in `encoding` encodes query strings other than as UTF-8. */
export function isLegacyEncoding(encoding: string): boolean {
  return !UTF8_FOR_URLS.has(encoding);
}

/**
 * Percent-encodes a query (without its "?") as the URL standard does for an
 * http(s) URL in a document in `encoding` (a WHATWG encoding name, as
 * TextDecoder's `encoding` gives).
 */
export function encodeQuery(query: string, encoding: string): string {
  let out = "";
  const bytes = (list: number[]) => {
    for (const byte of list) out += percentEncodeByte(byte);
  };
  const error = (codePoint: number) => {
    out += `%26%23${codePoint}%3B`;
  };
  if (!isLegacyEncoding(encoding)) {
    bytes([...new TextEncoder().encode(query)]);
    return out;
  }
  const encoder = encoderFor(encoding);
  if (encoder instanceof StatefulEncoder) {
    encoder.reset();
    for (const codePoint of codePoints(query)) {
      for (const item of encoder.encode(codePoint)) {
        if (typeof item === "number") bytes([item]);
        else error(item.error);
      }
    }
    bytes(encoder.flush());
    return out;
  }
  for (const codePoint of codePoints(query)) {
    const result = codePoint < 0x80 ? [codePoint] : encoder(codePoint);
    if (result) bytes(result);
    else error(codePoint);
  }
  return out;
}

/** Scalar values: a lone surrogate is U+FFFD, as when a URL is parsed. */
function* codePoints(text: string): Generator<number> {
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    yield codePoint >= 0xd800 && codePoint <= 0xdfff ? 0xfffd : codePoint;
  }
}

/** The URL standard's special-query percent-encode set, for one encoded byte. */
function percentEncodeByte(byte: number): string {
  const encode = byte < 0x21 || byte > 0x7e || byte === 0x22 || byte === 0x23 ||
    byte === 0x27 || byte === 0x3c || byte === 0x3e;
  return encode
    ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
    : String.fromCharCode(byte);
}

function encoderFor(encoding: string): Encode | StatefulEncoder {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = makeEncoder(encoding);
    encoders.set(encoding, encoder);
  }
  return encoder;
}

function makeEncoder(encoding: string): Encode | StatefulEncoder {
  switch (encoding) {
    case "gbk":
    case "gb18030":
      return gb18030Encoder(encoding === "gbk");
    case "big5":
      return big5Encoder();
    case "euc-kr":
      return doubleByteEncoder("euc-kr", 0x81, 0xfe, [[0x41, 0xfe]], 190);
    case "shift_jis":
      return shiftJisEncoder();
    case "euc-jp":
      return eucJpEncoder();
    case "iso-2022-jp":
      return new StatefulEncoder(jis0208());
    default:
      return singleByteEncoder(encoding);
  }
}

/** A single-byte encoding: decode 0x80-0xFF, invert (the first byte wins). */
function singleByteEncoder(encoding: string): Encode {
  const decoder = new TextDecoder(encoding);
  const table = new Map<number, number>();
  for (let byte = 0x80; byte <= 0xff; byte++) {
    const char = decoder.decode(Uint8Array.of(byte));
    const codePoint = char.codePointAt(0)!;
    if (char.length === 1 && codePoint !== 0xfffd && !table.has(codePoint)) {
      table.set(codePoint, byte);
    }
  }
  return (codePoint) => {
    const byte = table.get(codePoint);
    return byte === undefined ? null : [byte];
  };
}

/**
 * Pointer -> code point of a two-byte table, by decoding every lead/trail
 * pair. `trails` are the trail byte ranges in pointer order; `row` is the
 * number of trails per lead.
 */
function decodePairs(
  encoding: string,
  leadFrom: number,
  leadTo: number,
  trails: [number, number][],
  row: number,
): Map<number, number> {
  const decoder = new TextDecoder(encoding);
  const byPointer = new Map<number, number>();
  const pair = new Uint8Array(2);
  for (let lead = leadFrom; lead <= leadTo; lead++) {
    let index = 0;
    for (const [from, to] of trails) {
      for (let trail = from; trail <= to; trail++, index++) {
        pair[0] = lead;
        pair[1] = trail;
        const text = decoder.decode(pair);
        const codePoint = text.codePointAt(0)!;
        // One character, not U+FFFD, not a lead byte error followed by the trail.
        if (codePoint !== 0xfffd && text.length === String.fromCodePoint(codePoint).length) {
          byPointer.set((lead - leadFrom) * row + index, codePoint);
        }
      }
    }
  }
  return byPointer;
}

/** Code point -> first pointer (the standard's "index pointer"), skipping `excluded` pointers. */
function firstPointers(
  byPointer: Map<number, number>,
  excluded: (pointer: number) => boolean = () => false,
): Map<number, number> {
  const pointers = new Map<number, number>();
  for (const [pointer, codePoint] of [...byPointer].sort((a, b) => a[0] - b[0])) {
    if (!excluded(pointer) && !pointers.has(codePoint)) pointers.set(codePoint, pointer);
  }
  return pointers;
}

function doubleByteEncoder(
  encoding: string,
  leadFrom: number,
  leadTo: number,
  trails: [number, number][],
  row: number,
): Encode {
  const pointers = firstPointers(decodePairs(encoding, leadFrom, leadTo, trails, row));
  return (codePoint) => {
    const pointer = pointers.get(codePoint);
    if (pointer === undefined) return null;
    return [Math.floor(pointer / row) + leadFrom, trailByte(pointer % row, trails)];
  };
}

/** The trail byte at `index` of the trail ranges. */
function trailByte(index: number, trails: [number, number][]): number {
  for (const [from, to] of trails) {
    if (index <= to - from) return from + index;
    index -= to - from + 1;
  }
  throw new RangeError(`trail index ${index} out of range`);
}

const GB_TRAILS: [number, number][] = [[0x40, 0x7e], [0x80, 0xfe]];

/** GB18030 (and GBK: no four-byte sequences, U+20AC as 0x80). */
function gb18030Encoder(isGbk: boolean): Encode {
  const two = firstPointers(decodePairs("gb18030", 0x81, 0xfe, GB_TRAILS, 190));
  const four = isGbk ? new Map<number, number>() : gb18030Ranges();
  return (codePoint) => {
    if (codePoint === 0xe5e5) return null;
    if (isGbk && codePoint === 0x20ac) return [0x80];
    const pointer = two.get(codePoint);
    if (pointer !== undefined) {
      return [Math.floor(pointer / 190) + 0x81, trailByte(pointer % 190, GB_TRAILS)];
    }
    if (isGbk) return null;
    let four_ = codePoint >= 0x10000 ? 189000 + codePoint - 0x10000 : four.get(codePoint);
    if (four_ === undefined) return null;
    const b1 = Math.floor(four_ / 12600);
    four_ %= 12600;
    const b2 = Math.floor(four_ / 1260);
    four_ %= 1260;
    return [b1 + 0x81, b2 + 0x30, Math.floor(four_ / 10) + 0x81, (four_ % 10) + 0x30];
  };
}

/** Code point -> four-byte pointer of GB18030's BMP ranges, by decoding pointers 0-39419. */
function gb18030Ranges(): Map<number, number> {
  const decoder = new TextDecoder("gb18030");
  const pointers = new Map<number, number>();
  const bytes = new Uint8Array(4);
  for (let pointer = 0; pointer <= 39419; pointer++) {
    bytes[0] = Math.floor(pointer / 12600) + 0x81;
    bytes[1] = Math.floor((pointer % 12600) / 1260) + 0x30;
    bytes[2] = Math.floor((pointer % 1260) / 10) + 0x81;
    bytes[3] = (pointer % 10) + 0x30;
    const text = decoder.decode(bytes);
    const codePoint = text.codePointAt(0)!;
    if (text.length === 1 && codePoint !== 0xfffd && !pointers.has(codePoint)) {
      pointers.set(codePoint, pointer);
    }
  }
  return pointers;
}

const BIG5_TRAILS: [number, number][] = [[0x40, 0x7e], [0xa1, 0xfe]];

/** Big5: pointers below 5024 (HKSCS) are not used; six characters take their last pointer. */
function big5Encoder(): Encode {
  const byPointer = decodePairs("big5", 0x81, 0xfe, BIG5_TRAILS, 157);
  const excluded = (pointer: number) => pointer < (0xa1 - 0x81) * 157;
  const pointers = firstPointers(byPointer, excluded);
  for (const [pointer, codePoint] of byPointer) {
    if (excluded(pointer)) continue;
    if ([0x2550, 0x255e, 0x2561, 0x256a, 0x5341, 0x5345].includes(codePoint)) {
      pointers.set(codePoint, Math.max(pointer, pointers.get(codePoint) ?? pointer));
    }
  }
  return (codePoint) => {
    const pointer = pointers.get(codePoint);
    if (pointer === undefined) return null;
    return [Math.floor(pointer / 157) + 0x81, trailByte(pointer % 157, BIG5_TRAILS)];
  };
}

const SJIS_TRAILS: [number, number][] = [[0x40, 0x7e], [0x80, 0xfc]];

let jis0208Table: Map<number, number> | undefined;

/** JIS X 0208 pointer -> code point, from Shift_JIS (whose leads reach every row). */
function jis0208ByPointer(): Map<number, number> {
  if (!jis0208Table) {
    const low = decodePairs("shift_jis", 0x81, 0x9f, SJIS_TRAILS, 188);
    const high = decodePairs("shift_jis", 0xe0, 0xfc, SJIS_TRAILS, 188);
    jis0208Table = new Map(low);
    // Leads 0xE0-0xFC continue the rows of 0x81-0x9F.
    for (const [pointer, codePoint] of high) jis0208Table.set(pointer + 31 * 188, codePoint);
    // 8836-10715 is the user-defined area, decoded to U+E000..: not in the index.
    for (let pointer = 8836; pointer <= 10715; pointer++) jis0208Table.delete(pointer);
  }
  return jis0208Table;
}

/** Code point -> first JIS X 0208 pointer. */
function jis0208(): Map<number, number> {
  return firstPointers(jis0208ByPointer());
}

/** The Shift_JIS and EUC-JP encoders map these before looking them up. */
function japaneseCommon(codePoint: number): number[] | number {
  if (codePoint === 0xa5) return [0x5c];
  if (codePoint === 0x203e) return [0x7e];
  return codePoint === 0x2212 ? 0xff0d : codePoint;
}

function shiftJisEncoder(): Encode {
  const pointers = firstPointers(
    jis0208ByPointer(),
    (pointer) => pointer >= 8272 && pointer <= 8835,
  );
  return (input) => {
    if (input === 0x80) return [0x80];
    const codePoint = japaneseCommon(input);
    if (Array.isArray(codePoint)) return codePoint;
    if (codePoint >= 0xff61 && codePoint <= 0xff9f) return [codePoint - 0xff61 + 0xa1];
    const pointer = pointers.get(codePoint);
    if (pointer === undefined) return null;
    const lead = Math.floor(pointer / 188);
    return [lead + (lead < 0x1f ? 0x81 : 0xc1), trailByte(pointer % 188, SJIS_TRAILS)];
  };
}

function eucJpEncoder(): Encode {
  const pointers = jis0208();
  return (input) => {
    const codePoint = japaneseCommon(input);
    if (Array.isArray(codePoint)) return codePoint;
    if (codePoint >= 0xff61 && codePoint <= 0xff9f) return [0x8e, codePoint - 0xff61 + 0xa1];
    const pointer = pointers.get(codePoint);
    if (pointer === undefined || pointer >= 94 * 94) return null;
    return [Math.floor(pointer / 94) + 0xa1, (pointer % 94) + 0xa1];
  };
}

/** Halfwidth katakana U+FF61-U+FF9F as the fullwidth ones ISO-2022-JP encodes. */
function fullwidthKatakana(codePoint: number): number {
  if (codePoint === 0xff9e) return 0x309b;
  if (codePoint === 0xff9f) return 0x309c;
  return String.fromCodePoint(codePoint).normalize("NFKC").codePointAt(0)!;
}

/** ISO-2022-JP: switches between ASCII, Roman and JIS X 0208 with escape sequences. */
class StatefulEncoder {
  #pointers: Map<number, number>;
  #state: "ascii" | "roman" | "jis0208" = "ascii";

  constructor(pointers: Map<number, number>) {
    this.#pointers = pointers;
  }

  reset(): void {
    this.#state = "ascii";
  }

  /** Bytes, and `{ error }` where the code point cannot be encoded. */
  encode(codePoint: number): (number | { error: number })[] {
    const out: (number | { error: number })[] = [];
    const state = this.#state;
    if ((state === "ascii" || state === "roman") && [0x0e, 0x0f, 0x1b].includes(codePoint)) {
      return [{ error: 0xfffd }];
    }
    const ascii = codePoint < 0x80;
    if (state === "ascii" && ascii) return [codePoint];
    if (
      state === "roman" &&
      ((ascii && codePoint !== 0x5c && codePoint !== 0x7e) || codePoint === 0xa5 ||
        codePoint === 0x203e)
    ) {
      return [codePoint === 0xa5 ? 0x5c : codePoint === 0x203e ? 0x7e : codePoint];
    }
    if (ascii) {
      this.#state = "ascii";
      return [0x1b, 0x28, 0x42, ...this.encode(codePoint)];
    }
    if (codePoint === 0xa5 || codePoint === 0x203e) {
      this.#state = "roman";
      return [0x1b, 0x28, 0x4a, ...this.encode(codePoint)];
    }
    let mapped = codePoint === 0x2212 ? 0xff0d : codePoint;
    if (mapped >= 0xff61 && mapped <= 0xff9f) mapped = fullwidthKatakana(mapped);
    const pointer = this.#pointers.get(mapped);
    if (pointer === undefined || pointer >= 94 * 94) {
      // The error's "&#NNNN;" must be read in ASCII.
      if (state === "jis0208") {
        this.#state = "ascii";
        out.push(0x1b, 0x28, 0x42);
      }
      out.push({ error: codePoint });
      return out;
    }
    if (state !== "jis0208") {
      this.#state = "jis0208";
      out.push(0x1b, 0x24, 0x42);
    }
    out.push(Math.floor(pointer / 94) + 0x21, (pointer % 94) + 0x21);
    return out;
  }

  /** The bytes that end the text in ASCII. */
  flush(): number[] {
    if (this.#state === "ascii") return [];
    this.#state = "ascii";
    return [0x1b, 0x28, 0x42];
  }
}

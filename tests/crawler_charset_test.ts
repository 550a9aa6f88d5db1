// Decoding pages as browsers do (BOM, Content-Type charset, <meta> prescan,
// windows-1252) and encoding link queries in the page's encoding, as the URL
// standard says.

import assert from "node:assert/strict";
import {
  charsetFromContent,
  charsetOf,
  decodePage,
  encodingOf,
  prescan,
} from "../crawler/_encoding.ts";
import { contentTypeOf } from "../crawler/_mime.ts";
import { extractPage, resolve } from "../crawler/_html.ts";
import { encodeQuery } from "../crawler/_query_encoding.ts";

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

Deno.test("decodePage() takes the BOM first, then the Content-Type charset, then <meta>, then windows-1252", () => {
  const cafe = [0x43, 0x61, 0x66, 0xe9]; // "Café" in windows-1252
  const cases: [Uint8Array, string | null, string, string][] = [
    // BOM beats the header.
    [bytes([0xef, 0xbb, 0xbf], "Caf\u00e9"), "text/html; charset=gbk", "utf-8", "Café"],
    [bytes([0xff, 0xfe, 0x43, 0, 0xe9, 0]), "text/html; charset=windows-1252", "utf-16le", "Cé"],
    [bytes([0xfe, 0xff, 0, 0x43, 0, 0xe9]), null, "utf-16be", "Cé"],
    // The header beats <meta>; labels are WHATWG's (latin1 and iso-8859-1 are windows-1252).
    [
      bytes('<meta charset="utf-8">', cafe),
      "text/html; charset=ISO-8859-1",
      "windows-1252",
      '<meta charset="utf-8">Café',
    ],
    [bytes(cafe), 'text/html;charset="latin1"', "windows-1252", "Café"],
    [bytes([0xd6, 0xd0]), "text/html; charset=gb2312", "gbk", "中"],
    // <meta charset> and <meta http-equiv content>.
    [bytes("<meta charset=gbk>", [0xd6, 0xd0]), "text/html", "gbk", "<meta charset=gbk>中"],
    [
      bytes('<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=big5">', [0xa4, 0xa4]),
      "text/html",
      "big5",
      '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=big5">中',
    ],
    // An unknown label is ignored; nothing declared is windows-1252.
    [bytes(cafe), "text/html; charset=no-such-thing", "windows-1252", "Café"],
    [bytes(cafe), null, "windows-1252", "Café"],
    // XHTML: the XML declaration, else UTF-8.
    [
      bytes('<?xml version="1.0" encoding="Shift_JIS"?>', [0x93, 0xfa]),
      null,
      "shift_jis",
      '<?xml version="1.0" encoding="Shift_JIS"?>日',
    ],
  ];
  for (const [body, contentType, encoding, text] of cases) {
    const xml = text.startsWith("<?xml");
    const page = decodePage(body, contentType, xml);
    assert.deepEqual([page.encoding, page.text], [encoding, text], `${contentType}: ${text}`);
  }
  assert.equal(decodePage(bytes("Caf\u00e9"), null, true).encoding, "utf-8");
  // The "replacement" encodings are never decoded (they hide markup from filters).
  assert.deepEqual(decodePage(bytes("<b>hi</b>"), "text/html; charset=iso-2022-kr"), {
    text: "\uFFFD",
    encoding: "replacement",
    source: "content-type",
  });
});

Deno.test("the Content-Type charset is read as browsers read it: quoted strings, repeated headers", () => {
  const cases: [string, string | undefined][] = [
    // A charset inside a quoted parameter is not the charset (a regex took gbk).
    ['text/html; x="; charset=gbk"; charset=utf-8', "utf-8"],
    ['text/html; x="a\\"; charset=gbk"; charset=big5', "big5"],
    ['text/html; charset="gbk"', "gbk"],
    ['text/html; charset="gbk', "gbk"], // an unterminated quoted string ends the header
    ['text/html; charset="g\\bk"', "gbk"],
    ["text/html; charset=gbk; charset=utf-8", "gbk"], // the first wins
    ["text/html;CHARSET = gbk", undefined], // no whitespace around "=" in a parameter
    ["text/html; charset = gbk", undefined],
    ["TEXT/HTML;CHARSET=GBK", "GBK"],
    ["text/html; charset=", undefined],
    ["text/html; charset=;charset=gbk", "gbk"],
    ["text/html; charset", undefined],
    ["charset=gbk", undefined], // not a MIME type
    ["text/html charset=gbk", undefined],
    // Headers.get() joins repeated headers with ", ": the last MIME type counts, and
    // one of the same essence without a charset keeps the one before's.
    ["text/html; charset=gbk, text/html", "gbk"],
    ["text/html; charset=gbk, text/plain", undefined],
    ["text/plain; charset=gbk, text/html; charset=big5", "big5"],
    ['text/html; x=", text/plain"; charset=gbk', "gbk"],
    ["text/html; charset=gbk, */*", "gbk"],
  ];
  for (const [header, charset] of cases) assert.equal(charsetOf(header), charset, header);
  assert.equal(contentTypeOf('Text/HTML ; q="1"')?.essence, "text/html");
  assert.equal(contentTypeOf("nonsense"), undefined);
  // In a page: decoded as UTF-8, as a browser does, not as GBK.
  const page = decodePage(bytes("\u4e2d"), 'text/html; x="; charset=gbk"; charset=utf-8');
  assert.deepEqual([page.encoding, page.text], ["utf-8", "中"]);
});

Deno.test("prescan() finds <meta> charsets as the HTML standard's prescan does", () => {
  const cases: [string, string | undefined][] = [
    ['<meta charset="shift_jis">', "shift_jis"],
    ["<meta charset='euc-kr'>", "euc-kr"],
    ["<meta charset=koi8-r >", "koi8-r"],
    ["<meta charset=koi8-r/>", undefined], // the unquoted value is "koi8-r/"
    ['<meta http-equiv="content-type" content="text/html; charset=gb18030">', "gb18030"],
    ['<meta content="text/html; charset=gb18030" http-equiv="content-type">', "gb18030"],
    // content= without http-equiv does not count.
    ['<meta content="text/html; charset=gb18030">', undefined],
    // UTF-16 in a <meta> means UTF-8 (the bytes were readable as ASCII); x-user-defined is windows-1252.
    ['<meta charset="utf-16le">', "utf-8"],
    ['<meta charset="x-user-defined">', "windows-1252"],
    // Comments and other tags' attributes are skipped.
    ['<!-- <meta charset="gbk"> --><meta charset="big5">', "big5"],
    ['<!--><meta charset="big5">', "big5"],
    [`<div title='<meta charset="gbk">'></div><meta charset="euc-jp">`, "euc-jp"],
    ['<script>"<meta charset=gbk>"</script>', "gbk"], // the prescan does not know scripts
    ["<metacharset=gbk>", undefined],
    ['<meta charset="nonsense"><meta charset="gbk">', "gbk"],
    ['<meta charset="gbk" charset="big5">', "gbk"],
    ["<meta charset=", undefined],
    ["no markup at all", undefined],
  ];
  for (const [head, want] of cases) {
    assert.equal(prescan(new TextEncoder().encode(head)), want, head);
  }
  // Only the first 1024 bytes count (decodePage passes no more).
  const late = new TextEncoder().encode(`${" ".repeat(1024)}<meta charset="gbk">`);
  assert.equal(decodePage(late, "text/html").encoding, "windows-1252");
});

Deno.test("charsetFromContent() and encodingOf() read labels as the standards do", () => {
  assert.equal(charsetFromContent("text/html; charset=utf-8"), "utf-8");
  assert.equal(charsetFromContent("text/html;CHARSET = 'big5' ;x"), "big5");
  assert.equal(charsetFromContent('charset="unterminated'), undefined);
  assert.equal(charsetFromContent("charsetnothing; charset=gbk"), "gbk");
  assert.equal(charsetFromContent("text/html"), undefined);
  assert.equal(encodingOf(" Latin1 "), "windows-1252");
  assert.equal(encodingOf("x-sjis"), "shift_jis");
  assert.equal(encodingOf("hz-gb-2312"), "replacement");
  assert.equal(encodingOf("nope"), undefined);
});

Deno.test("encodeQuery() encodes in the document's encoding, &#NNNN; for what it cannot", () => {
  const cases: [string, string, string][] = [
    ["windows-1252", "q=café €", "q=caf%E9%20%80"],
    ["gbk", "中文", "%D6%D0%CE%C4"],
    ["gbk", "€", "%80"],
    ["gbk", "😀", "%26%23128512%3B"],
    ["gb18030", "😀", "%949%FC6"],
    ["gb18030", "€", "%A2%E3"],
    ["big5", "中文", "%A4%A4%A4%E5"],
    ["big5", "═", "%F9%F9"], // one of the six that take Big5's last pointer
    ["shift_jis", "日本", "%93%FA%96{"],
    ["shift_jis", "¥ｱ", "\\%B1"],
    ["euc-jp", "日本", "%C6%FC%CB%DC"],
    ["euc-kr", "한국어", "%C7%D1%B1%B9%BE%EE"],
    ["iso-2022-jp", "a日b", "a%1B$BF|%1B(Bb"],
    ["iso-2022-jp", "日😀", "%1B$BF|%1B(B%26%23128512%3B"],
    ["koi8-r", "привет", "%D0%D2%C9%D7%C5%D4"],
    ["windows-1252", "中", "%26%2320013%3B"],
    // The special-query percent-encode set, whatever the encoding.
    ["windows-1252", `a b"#<>'`, "a%20b%22%23%3C%3E%27"],
    // A lone surrogate is U+FFFD, which windows-1252 lacks.
    ["windows-1252", "\ud800", "%26%2365533%3B"],
  ];
  for (const [encoding, query, want] of cases) {
    assert.equal(encodeQuery(query, encoding), want, `${encoding}: ${query}`);
  }
});

Deno.test("encodeQuery() round-trips every character each legacy encoder can encode", () => {
  for (
    const encoding of ["gbk", "gb18030", "big5", "shift_jis", "euc-jp", "euc-kr", "windows-1251"]
  ) {
    const decoder = new TextDecoder(encoding);
    const wrong: string[] = [];
    for (let codePoint = 0x80; codePoint < 0x10000; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const char = String.fromCodePoint(codePoint);
      const encoded = encodeQuery(char, encoding);
      if (encoded.startsWith("%26%23")) continue; // not in this encoding
      const decoded = decoder.decode(Uint8Array.from(
        encoded.match(/%[0-9A-F]{2}|[^%]/g)!.map((t) =>
          t.length === 3 ? parseInt(t.slice(1), 16) : t.charCodeAt(0)
        ),
      ));
      // The Japanese encoders' deliberate one-way mappings.
      const japanese = encoding === "shift_jis" || encoding === "euc-jp";
      const expected = (japanese && { 0xa5: "\\", 0x203e: "~", 0x2212: "－" }[codePoint]) || char;
      if (decoded !== expected) {
        wrong.push(`U+${codePoint.toString(16)} -> ${encoded} -> ${decoded}`);
      }
    }
    assert.deepEqual(wrong.slice(0, 5), [], encoding);
  }
});

Deno.test("resolve() encodes the query in the document's encoding and the path in UTF-8", () => {
  const base = "http://site.test/dir/";
  assert.equal(
    resolve("café?q=café#x", base, "windows-1252")!.href,
    "http://site.test/dir/caf%C3%A9?q=caf%E9#x",
  );
  assert.equal(resolve("/s?q=中文", base, "gbk")!.href, "http://site.test/s?q=%D6%D0%CE%C4");
  assert.equal(
    resolve("/s?q=中文", base, "utf-16le")!.href,
    "http://site.test/s?q=%E4%B8%AD%E6%96%87",
  );
  assert.equal(resolve("/s?q=中文", base)!.href, "http://site.test/s?q=%E4%B8%AD%E6%96%87");
  // A "?" inside the fragment is not a query; an ASCII query is unchanged.
  assert.equal(resolve("/s#a?é", base, "gbk")!.href, "http://site.test/s#a?%C3%A9");
  assert.equal(resolve(" /s?q=a%20b \n", base, "gbk")!.href, "http://site.test/s?q=a%20b");
  assert.equal(resolve("/s?q=\t中", base, "gbk")!.href, "http://site.test/s?q=%D6%D0");
  assert.equal(resolve("http://[bad", base, "gbk"), undefined);
  const page = extractPage(
    `<base href="/b/?x=中"><a href="?q=中">q</a><a href="">self</a>`,
    "http://site.test/",
    { encoding: "gbk" },
  );
  assert.deepEqual(page.links, ["http://site.test/b/?q=%D6%D0", "http://site.test/b/?x=%D6%D0"]);
});

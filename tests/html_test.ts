import assert from "node:assert/strict";
import { parse } from "parse5";
import { Parser } from "htmlparser2";
import { extractPage, resolveLinks } from "../crawler/_html.ts";
import { type HtmlHandler, ParseDeadlineError, parseHtml } from "../crawler/_parser.ts";
import { buildDocument, MAX_TREE_DEPTH, select } from "../crawler/_select.ts";

const corpus = new URL("./fixtures/corpus/", import.meta.url);

interface Node {
  nodeName: string;
  tagName?: string;
  namespaceURI?: string;
  attrs?: { name: string; value: string }[];
  childNodes?: Node[];
  value?: string;
}

const HTML_NS = "http://www.w3.org/1999/xhtml";

/** What a WHATWG parse says: document.title, the base URL, and a/area hrefs. */
function reference(html: string, url: string): { title: string | null; links: string[] } {
  // A crawler runs no scripts: parse as a user agent with scripting disabled, where
  // <noscript> holds markup (and links) rather than text.
  const document = parse(html, { scriptingEnabled: false }) as unknown as Node;
  let titleNode: Node | undefined;
  let base: string | undefined;
  let baseSeen = false;
  const hrefs: string[] = [];
  const walk = (node: Node) => {
    if (node.tagName && node.namespaceURI === HTML_NS) {
      const href = node.attrs?.find((a) => a.name === "href")?.value;
      if (node.tagName === "title" && !titleNode) titleNode = node;
      if (node.tagName === "base" && !baseSeen && href !== undefined) {
        // HTML's "set the frozen base URL": the first <base href> only; an
        // invalid, data: or javascript: one leaves the document's URL.
        baseSeen = true;
        try {
          const frozen = new URL(href, url);
          if (frozen.protocol !== "data:" && frozen.protocol !== "javascript:") base = frozen.href;
        } catch { /* the fallback base URL, as browsers do */ }
      }
      if ((node.tagName === "a" || node.tagName === "area") && href !== undefined) hrefs.push(href);
    }
    for (const child of node.childNodes ?? []) walk(child);
  };
  walk(document);
  const text = (node: Node): string =>
    node.nodeName === "#text" ? node.value ?? "" : (node.childNodes ?? []).map(text).join("");
  const title = titleNode
    ? text(titleNode).replace(/[\t\n\f\r ]+/g, " ").replace(/^ | $/g, "")
    : null;
  return { title, links: resolveLinks(hrefs, base ?? url) };
}

Deno.test("extractPage() agrees with a WHATWG parse on titles and links of the corpus", async () => {
  let pages = 0;
  const disagreements: string[] = [];
  for await (const entry of Deno.readDir(corpus)) {
    if (!entry.isDirectory) continue;
    const html = await Deno.readTextFile(new URL(`${entry.name}/source.html`, corpus));
    const url = `http://127.0.0.1:8000/${entry.name}/`;
    const ours = extractPage(html, url);
    const want = reference(html, url);
    pages++;
    if (ours.title !== want.title) {
      disagreements.push(`${entry.name}: title ${ours.title} vs ${want.title}`);
    }
    if (JSON.stringify(ours.links) !== JSON.stringify(want.links)) {
      const missing = want.links.filter((l) => !ours.links.includes(l));
      const extra = ours.links.filter((l) => !want.links.includes(l));
      disagreements.push(
        `${entry.name}: links missing ${missing.slice(0, 3)} extra ${extra.slice(0, 3)}`,
      );
    }
  }
  assert.equal(pages, 15);
  assert.deepEqual(disagreements, []);
});

Deno.test("extractPage() handles base href, fragments, schemes, entities and svg titles", () => {
  const page = extractPage(
    `<html><head><svg><title>icon</title></svg><title>  A &amp;
      B </title><base href="/docs/"></head><body>
      <a href="x.html#top">x</a><a href="x.html">again</a><a href="mailto:a@b">m</a>
      <a href="javascript:void(0)">j</a><map><area href="https://other.test/a?q=1&amp;r=2"></map>
      <a href=" y.html ">y</a><a>no href</a><template><a href="hidden.html">t</a></template>
      </body></html>`,
    "http://site.test/start/page",
  );
  assert.equal(page.title, "A & B");
  assert.deepEqual(page.links, [
    "http://site.test/docs/x.html",
    "https://other.test/a?q=1&r=2",
    "http://site.test/docs/y.html",
  ]);
  assert.equal(extractPage("<p>no title</p>", "http://a.test/").title, null);
});

Deno.test("extractPage() takes the first <base href> as the HTML standard does, agreeing with parse5", () => {
  const url = "http://site.test/dir/page";
  const links = `<a href="rel">r</a><a href="/abs">a</a><a href="https://other.test/x">o</a>`;
  const cases: [string, string[]][] = [
    // data: and javascript: bases are not used: links resolve against the page.
    [`<base href="javascript:alert(1)">`, [`http://site.test/dir/rel`, `http://site.test/abs`]],
    [`<base href="data:text/html,x">`, [`http://site.test/dir/rel`, `http://site.test/abs`]],
    // An invalid first base: the page's URL, and a later base does not count.
    [`<base href="http://[">< base><base href="/later/">`, [
      `http://site.test/dir/rel`,
      `http://site.test/abs`,
    ]],
    [`<base href="javascript:x"><base href="/later/">`, [
      `http://site.test/dir/rel`,
      `http://site.test/abs`,
    ]],
    // Any other base is the base, even one that makes relative links non-http(s).
    [`<base href="file:///etc/">`, []],
    [`<base href="mailto:a@b.test">`, []],
    [`<base href="/other/">`, [`http://site.test/other/rel`, `http://site.test/abs`]],
    [`<base target="_top"><base href="https://b.test/x/">`, [
      `https://b.test/x/rel`,
      `https://b.test/abs`,
    ]],
  ];
  for (const [head, expected] of cases) {
    const html = `<head>${head}</head><body>${links}</body>`;
    const want = [...expected, "https://other.test/x"];
    assert.deepEqual(extractPage(html, url).links, want, head);
    assert.deepEqual(reference(html, url).links, want, `parse5: ${head}`);
  }
});

Deno.test("extractPage() cuts a title longer than 4096 characters, saying how much", () => {
  const page = extractPage(`<title>${"T".repeat(100_000)}</title>`, "http://a.test/");
  assert.equal(page.title, `${"T".repeat(4096)}… [95904 more characters]`);
  // Not inside a surrogate pair.
  const emoji = extractPage(`<title>${"x".repeat(4095)}😀😀</title>`, "http://a.test/").title!;
  assert.ok(emoji.startsWith(`${"x".repeat(4095)}… [`), emoji.slice(4090, 4100));
});

// The linear parser (crawler/_parser.ts) against htmlparser2's own Parser,
// whose tree-building rules it keeps.

type Event = [string, ...unknown[]];

/** The events of a parse, consecutive texts merged (chunking differs). */
function events(feed: (handler: Partial<HtmlHandler>) => void): Event[] {
  const out: Event[] = [];
  const push = (event: Event) => {
    const last = out[out.length - 1];
    if (event[0] === "text" && last?.[0] === "text") last[1] = `${last[1]}${event[1]}`;
    else out.push(event);
  };
  feed({
    onopentag: (name, attributes) => push(["open", name, Object.entries(attributes)]),
    onclosetag: (name) => push(["close", name]),
    ontext: (text) => push(["text", text]),
    oncomment: (text) => push(["comment", text]),
    onprocessinginstruction: (name, data) => push(["pi", name, data]),
  });
  return out;
}

const TRICKY = [
  `<svg><foreignObject><p>html <b>in</b> svg</p></foreignObject><title>t</title><clippath/></svg>`,
  `<math><mi>x</mi><annotation-xml><div>y</div></annotation-xml></math><p>after`,
  `<p>one<p>two<div>three</p></div></P><BR></br><p>`,
  `<form><form><input name=a></form><select><option>1<option>2</select>`,
  `<table><tr><td>a<td>b<tr><th>c</table><ul><li>x<li>y</ul><dl><dt>a<dd>b</dl>`,
  `<a href="x&amp;y&#x41;" HREF=dup title=&lt;>a<a href=2>b</a></a>`,
  `<svg><![CDATA[ raw <text> ]]></svg><![CDATA[ as comment ]]><!-- c --><!doctype html>`,
  `<image src=i><svg><image href=j /></svg><template><a href=t>t</a></template>`,
  `<title>T &amp; <b>not bold</b></title><textarea><p>raw</textarea><script>if (a<b) {}</script>`,
  `<h1>a<h2>b</h1><rt>r<rp>p</ruby><tbody><tfoot></body></html>`,
  `<div __proto__="x" constructor=y></div>`,
];

Deno.test("the linear parser emits htmlparser2 Parser's events on the corpus and tricky markup", async () => {
  const pages = [...TRICKY];
  for await (const entry of Deno.readDir(corpus)) {
    if (entry.isDirectory) {
      pages.push(await Deno.readTextFile(new URL(`${entry.name}/source.html`, corpus)));
    }
  }
  for (const html of pages) {
    const theirs = events((handler) =>
      new Parser(handler, {
        decodeEntities: true,
        lowerCaseTags: true,
        lowerCaseAttributeNames: true,
      })
        .end(html)
    );
    const ours = events((handler) => parseHtml(html, handler as HtmlHandler));
    assert.deepEqual(ours, theirs, html.slice(0, 80));
  }
});

Deno.test("parsing is linear in nesting depth and in unmatched end tags", () => {
  const n = 200_000;
  // Quadratic before: 100k of each took 1.5 s, 8.4 s and 1.2 s; now ~40 ms.
  for (
    const html of [
      "<div>".repeat(n) + `<a href="/deep">d</a>`,
      "<div>".repeat(n) + "</span>".repeat(n),
      "<svg>".repeat(n),
      "<b><i>".repeat(n / 2),
    ]
  ) {
    const started = performance.now();
    extractPage(html, "http://a.test/");
    buildDocument(html);
    const ms = performance.now() - started;
    assert.ok(ms < 5_000, `${html.slice(0, 20)}...: ${Math.round(ms)} ms`);
  }
  assert.deepEqual(
    extractPage("<div>".repeat(n) + `<a href="/deep">d</a>`, "http://a.test/").links,
    [
      "http://a.test/deep",
    ],
  );
});

Deno.test("parsing stops at its deadline with a ParseDeadlineError", () => {
  const html = "<b>x</b>".repeat(2_500_000); // 20 MB: seconds to parse
  for (
    const parse of [
      (d: number) => extractPage(html, "http://a.test/", { deadline: d }),
      (d: number) => select(html, [{ name: "b", css: "b" }], d),
    ]
  ) {
    const started = performance.now();
    assert.throws(() => parse(performance.now() + 10), (error) => {
      assert.ok(error instanceof ParseDeadlineError);
      assert.ok(error.parsed < error.total, error.message);
      assert.match(error.message, /^stopped after \d+ of 20000000 characters$/);
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
  }
});

Deno.test("--select stops at the deadline even when matching a selector is quadratic", () => {
  // 30k siblings: *:nth-last-child(2) looks at every later sibling of each, 4.5 x 10^8
  // steps (10 s here), checked only between selectors before.
  const html = "<p>x</p>".repeat(30_000);
  for (const css of ["*:nth-last-child(2)", "p:nth-last-of-type(2) ~ p:nth-last-child(3)"]) {
    const started = performance.now();
    assert.throws(
      () => select(html, [{ name: "f", css }], performance.now() + 300),
      (error) => error instanceof ParseDeadlineError && error.message === "matching --select f",
      css,
    );
    const ms = performance.now() - started;
    assert.ok(ms < 300 + 2_000, `${css}: ${Math.round(ms)} ms`);
  }
  // With time enough, the same selector matches.
  assert.deepEqual(
    select("<p>a</p><p>b</p><p>c</p>", [{ name: "f", css: "*:nth-last-child(2)" }]),
    {
      f: "b",
    },
  );
});

Deno.test("resolving links stops at the deadline too, after the parse", () => {
  const hrefs = Array.from({ length: 5_000 }, (_, i) => `/p${i}?q=中文`);
  assert.equal(resolveLinks(hrefs, "http://a.test/", "gbk").length, 5_000);
  assert.throws(
    () => resolveLinks(hrefs, "http://a.test/", "gbk", performance.now() - 1),
    (error) =>
      error instanceof ParseDeadlineError &&
      /^resolving links: stopped after \d+ of 5000$/.test(error.message),
  );
});

Deno.test("--select cuts a field longer than 65536 characters, saying how much", () => {
  const fields = select(`<article>${"w ".repeat(30_000)}</article><p id="${"i".repeat(70_000)}">`, [
    { name: "text", css: "article" },
    { name: "id", css: "p", attr: "id" },
  ]);
  assert.ok(fields.text === "w ".repeat(30_000).trim(), "60k characters are kept whole");
  assert.ok(fields.id === `${"i".repeat(65_536)}… [4464 more characters]`, fields.id?.slice(-40));
});

Deno.test("--select builds a tree at most 512 deep, as Chromium, so deep pages stay cheap", () => {
  const html = "<div>".repeat(100_000) + `<span class="x">deep <b>text</b></span>`;
  const document = buildDocument(html);
  let deepest = 0;
  const walk = (node: { children?: unknown[] }, depth: number) => {
    deepest = Math.max(deepest, depth);
    for (const child of node.children ?? []) walk(child as { children?: unknown[] }, depth + 1);
  };
  walk(document as unknown as { children?: unknown[] }, 0);
  assert.equal(deepest, MAX_TREE_DEPTH + 1); // elements, plus the text at the bottom
  const started = performance.now();
  const fields = select(html, [
    { name: "span", css: "div > span.x" },
    { name: "far", css: "div div div b" },
    { name: "none", css: "p div span" },
    { name: "all", css: "div" },
  ]);
  assert.ok(performance.now() - started < 5_000);
  // Past depth 512 each element is a sibling of the one before: <b> is not inside <span>.
  assert.deepEqual(fields, { span: "deep", far: "text", none: null, all: "deep text" });
});

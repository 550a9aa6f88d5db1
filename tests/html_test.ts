import assert from "node:assert/strict";
import { parse } from "parse5";
import { extractPage, resolveLinks } from "../crawler/_html.ts";

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
  const hrefs: string[] = [];
  const walk = (node: Node) => {
    if (node.tagName && node.namespaceURI === HTML_NS) {
      const href = node.attrs?.find((a) => a.name === "href")?.value;
      if (node.tagName === "title" && !titleNode) titleNode = node;
      if (node.tagName === "base" && base === undefined && href !== undefined) {
        try {
          base = new URL(href, url).href;
        } catch { /* ignored, as browsers do */ }
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

// An HTML event parser in linear time, driving htmlparser2's Tokenizer.
//
// htmlparser2's own Parser keeps its open elements in an array whose top is
// index 0: every open tag is a `stack.unshift` and every end tag an
// `indexOf`, so a page of N nested elements costs O(N^2) (100k nested <div>s
// took 3.4 s, 200k 10 s). This is the same tree-building logic (HTML mode
// only, same events, checked against htmlparser2's Parser in
// tests/html_test.ts) with the top of the stack at the end of the array and,
// once it is deep, a count per tag name, so that each open tag, end tag and
// "is X open?" costs O(1) amortised. `parseHtml` feeds the text in slices and checks a deadline
// between them, so that one page cannot hold a worker past the request's
// timeout.
//
// The tree-building rules (which tags close which, void elements, implied
// ends) are adapted from htmlparser2's src/Parser.ts, copyright Felix Böhm,
// MIT licence (https://github.com/fb55/htmlparser2/blob/master/LICENSE).

import { type QuoteType, Tokenizer, type TokenizerCallbacks } from "htmlparser2";

/** What the parser reports. Every onopentag is matched by one onclosetag, innermost first. */
export interface HtmlHandler {
  onopentag(name: string, attributes: Record<string, string>): void;
  onclosetag(name: string): void;
  ontext(text: string): void;
  oncomment?(text: string): void;
  oncommentend?(): void;
  /** `<!doctype ...>`: name "!doctype", data "!doctype ...". */
  onprocessinginstruction?(name: string, data: string): void;
}

/** Thrown by {@linkcode parseHtml} when the deadline passes. */
export class ParseDeadlineError extends Error {
  /** Characters parsed before stopping. */
  readonly parsed: number;
  /** Characters in the page. */
  readonly total: number;
  /**
   * @param parsed Characters parsed before stopping.
   * @param total Characters in the page.
   * @param what What was stopped, when not the parse itself ("matching --select h1").
   */
  constructor(parsed: number, total: number, what?: string) {
    super(what ?? `stopped after ${parsed} of ${total} characters`);
    this.name = "ParseDeadlineError";
    this.parsed = parsed;
    this.total = total;
  }
}

/** Stack depths between which "is X open?" switches from scanning to counting (see #isOpen). */
const DEEP = 128;
const SHALLOW = 64;

/** Characters parsed between two looks at the clock (~1 ms of work). */
const SLICE = 64 * 1024;

/**
 * Parses `html`, reporting to `handler`.
 *
 * @param deadline A `performance.now()` time; past it, parsing stops with a
 *   {@linkcode ParseDeadlineError} (checked every 64 Ki characters).
 */
export function parseHtml(html: string, handler: HtmlHandler, deadline = Infinity): void {
  const parser = new HtmlParser(handler);
  for (let at = 0; at < html.length; at += SLICE) {
    if (performance.now() > deadline) throw new ParseDeadlineError(at, html.length);
    parser.write(html.slice(at, at + SLICE));
  }
  parser.end();
}

const formTags = new Set([
  "input",
  "option",
  "optgroup",
  "select",
  "button",
  "datalist",
  "textarea",
]);
const pTag = new Set(["p"]);
const headingTags = new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p"]);
const tableSectionTags = new Set(["thead", "tbody"]);
const ddtTags = new Set(["dd", "dt"]);
const rtpTags = new Set(["rt", "rp"]);

/** Open tags that close others first (htmlparser2's table). */
const openImpliesClose = new Map<string, Set<string>>([
  ["tr", new Set(["tr", "th", "td"])],
  ["th", new Set(["th"])],
  ["td", new Set(["thead", "th", "td"])],
  ["body", new Set(["head", "link", "script"])],
  ["a", new Set(["a"])],
  ["li", new Set(["li"])],
  ["p", pTag],
  ["h1", headingTags],
  ["h2", headingTags],
  ["h3", headingTags],
  ["h4", headingTags],
  ["h5", headingTags],
  ["h6", headingTags],
  ["select", formTags],
  ["input", formTags],
  ["output", formTags],
  ["button", formTags],
  ["datalist", formTags],
  ["textarea", formTags],
  ["option", new Set(["option"])],
  ["optgroup", new Set(["optgroup", "option"])],
  ["dd", ddtTags],
  ["dt", ddtTags],
  ["address", pTag],
  ["article", pTag],
  ["aside", pTag],
  ["blockquote", pTag],
  ["details", pTag],
  ["div", pTag],
  ["dl", pTag],
  ["fieldset", pTag],
  ["figcaption", pTag],
  ["figure", pTag],
  ["footer", pTag],
  ["form", pTag],
  ["header", pTag],
  ["hr", pTag],
  ["main", pTag],
  ["nav", pTag],
  ["ol", pTag],
  ["pre", pTag],
  ["section", pTag],
  ["table", pTag],
  ["ul", pTag],
  ["rt", rtpTags],
  ["rp", rtpTags],
  ["tbody", tableSectionTags],
  ["tfoot", tableSectionTags],
]);

const voidElements = new Set([
  "area",
  "base",
  "basefont",
  "br",
  "col",
  "command",
  "embed",
  "frame",
  "hr",
  "img",
  "input",
  "isindex",
  "keygen",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
]);

const foreignContextElements = new Set(["math", "svg"]);

/** Elements that hold HTML inside SVG or MathML, in SVG-adjusted case. */
const htmlIntegrationElements = new Set([
  "mi",
  "mo",
  "mn",
  "ms",
  "mtext",
  "annotation-xml",
  "foreignObject",
  "desc",
  "title",
]);

const svgTagNameAdjustments = new Map<string, string>(
  [
    "altGlyph",
    "altGlyphDef",
    "altGlyphItem",
    "animateColor",
    "animateMotion",
    "animateTransform",
    "clipPath",
    "feBlend",
    "feColorMatrix",
    "feComponentTransfer",
    "feComposite",
    "feConvolveMatrix",
    "feDiffuseLighting",
    "feDisplacementMap",
    "feDistantLight",
    "feDropShadow",
    "feFlood",
    "feFuncA",
    "feFuncB",
    "feFuncG",
    "feFuncR",
    "feGaussianBlur",
    "feImage",
    "feMerge",
    "feMergeNode",
    "feMorphology",
    "feOffset",
    "fePointLight",
    "feSpecularLighting",
    "feSpotLight",
    "feTile",
    "feTurbulence",
    "foreignObject",
    "glyphRef",
    "linearGradient",
    "radialGradient",
    "textPath",
  ].map((name) => [name.toLowerCase(), name]),
);

const enum Foreign {
  None,
  Svg,
  MathML,
}

/** htmlparser2's Parser in HTML mode, with O(1) stack operations. */
class HtmlParser implements TokenizerCallbacks {
  readonly #handler: HtmlHandler;
  readonly #tokenizer: Tokenizer;
  /** Open elements; the current one is last. */
  readonly #stack: string[] = [];
  /** While #stack is deep: how many times each name is on it ("is X open?" without a scan). */
  #counts: Map<string, number> | undefined;
  /** Foreign content contexts; the current one is last. */
  readonly #foreign: Foreign[] = [Foreign.None];
  #tagname = "";
  #attribname = "";
  #attribvalue = "";
  #attribs: Record<string, string> | null = null;
  /** Written text not yet consumed by the tokenizer's events. */
  readonly #buffers: string[] = [];
  #bufferOffset = 0;

  constructor(handler: HtmlHandler) {
    this.#handler = handler;
    this.#tokenizer = new Tokenizer({ decodeEntities: true }, this);
  }

  write(chunk: string): void {
    this.#buffers.push(chunk);
    this.#tokenizer.write(chunk);
  }

  end(): void {
    this.#tokenizer.end();
  }

  // Tokenizer callbacks (indices are into the whole text written so far).

  ontext(start: number, endIndex: number): void {
    this.#handler.ontext(this.#slice(start, endIndex));
  }

  ontextentity(codePoint: number): void {
    this.#handler.ontext(String.fromCodePoint(codePoint));
  }

  isInForeignContext(): boolean {
    return this.#foreign[this.#foreign.length - 1] !== Foreign.None;
  }

  onopentagname(start: number, endIndex: number): void {
    this.#emitOpenTag(this.#readTagName(start, endIndex));
  }

  onopentagend(): void {
    this.#endOpenTag();
  }

  onclosetag(start: number, endIndex: number): void {
    const name = this.#readTagName(start, endIndex);
    if (!voidElements.has(name)) {
      if (this.#isOpen(name)) {
        // Pops as many elements as it closes: linear over the whole parse.
        while (this.#top() !== name) this.#popElement();
        this.#popElement();
      } else if (name === "p") {
        // </p> without <p>: an empty paragraph.
        this.#emitOpenTag("p");
        this.#closeCurrentTag();
      }
    } else if (name === "br") {
      // </br> is <br>.
      this.#handler.onopentag("br", {});
      this.#handler.onclosetag("br");
    }
  }

  onselfclosingtag(): void {
    if (this.isInForeignContext()) this.#closeCurrentTag();
    else this.#endOpenTag();
  }

  onattribname(start: number, endIndex: number): void {
    this.#attribname = this.#slice(start, endIndex).toLowerCase();
  }

  onattribdata(start: number, endIndex: number): void {
    this.#attribvalue += this.#slice(start, endIndex);
  }

  onattribentity(codePoint: number): void {
    this.#attribvalue += String.fromCodePoint(codePoint);
  }

  onattribend(_quote: QuoteType): void {
    if (this.#attribs && !Object.hasOwn(this.#attribs, this.#attribname)) {
      this.#attribs[this.#attribname] = this.#attribvalue;
    }
    this.#attribvalue = "";
  }

  ondeclaration(start: number, endIndex: number): void {
    this.#handler.onprocessinginstruction?.("!doctype", `!${this.#slice(start, endIndex)}`);
  }

  onprocessinginstruction(): void {
    // Only in XML mode.
  }

  oncomment(start: number, endIndex: number, offset: number): void {
    this.#handler.oncomment?.(this.#slice(start, endIndex - offset));
    this.#handler.oncommentend?.();
  }

  oncdata(start: number, endIndex: number, offset: number): void {
    const value = this.#slice(start, endIndex - offset);
    if (this.isInForeignContext()) {
      this.#handler.ontext(value);
    } else {
      this.#handler.oncomment?.(`[CDATA[${value}]]`);
      this.#handler.oncommentend?.();
    }
  }

  onend(): void {
    // A tag cut off by the end of the text was never reported as opened
    // (htmlparser2 would still report its close): keep the events paired.
    if (this.#attribs !== null && this.#tagname !== "" && this.#top() === this.#tagname) {
      this.#pop();
    }
    for (let i = this.#stack.length - 1; i >= 0; i--) this.#handler.onclosetag(this.#stack[i]);
  }

  // Tree building.

  #top(): string | undefined {
    return this.#stack[this.#stack.length - 1];
  }

  // "Is X open?" scans the stack while it is at most DEEP elements (cheaper
  // than keeping counts, which cost ~7% on ordinary pages) and uses counts
  // while it is deeper. The counts are built when the stack grows past DEEP
  // and dropped when it shrinks below SHALLOW: at least DEEP - SHALLOW pushes
  // pay for each build, so every operation stays O(1) amortised.

  #isOpen(name: string): boolean {
    return this.#counts ? this.#counts.has(name) : this.#stack.lastIndexOf(name) >= 0;
  }

  #push(name: string): void {
    this.#stack.push(name);
    if (this.#counts) {
      this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
    } else if (this.#stack.length > DEEP) {
      this.#counts = new Map();
      for (const open of this.#stack) this.#counts.set(open, (this.#counts.get(open) ?? 0) + 1);
    }
  }

  #pop(): string {
    const name = this.#stack.pop()!;
    if (this.#counts) {
      if (this.#stack.length < SHALLOW) {
        this.#counts = undefined;
      } else {
        const count = this.#counts.get(name)! - 1;
        if (count === 0) this.#counts.delete(name);
        else this.#counts.set(name, count);
      }
    }
    return name;
  }

  #readTagName(start: number, endIndex: number): string {
    const name = this.#slice(start, endIndex).toLowerCase();
    const foreign = this.#foreign[this.#foreign.length - 1];
    if (foreign === Foreign.Svg) return svgTagNameAdjustments.get(name) ?? name;
    // An end tag such as </foreignObject> inside its own HTML content.
    if (this.#foreign.length > 1) {
      const adjusted = svgTagNameAdjustments.get(name);
      if (adjusted !== undefined && this.#isOpen(adjusted)) return adjusted;
    }
    if (foreign === Foreign.None) return name === "image" ? "img" : name;
    return name;
  }

  #emitOpenTag(name: string): void {
    this.#tagname = name;
    // A second <form> inside a form is ignored.
    if (name === "form" && this.#isOpen("form")) {
      this.#tagname = "";
      return;
    }
    const impliesClose = openImpliesClose.get(name);
    if (impliesClose) {
      while (this.#stack.length > 0 && impliesClose.has(this.#top()!)) this.#popElement();
    }
    if (!voidElements.has(name)) {
      this.#push(name);
      if (name === "svg") this.#foreign.push(Foreign.Svg);
      else if (name === "math") this.#foreign.push(Foreign.MathML);
      else if (htmlIntegrationElements.has(name)) this.#foreign.push(Foreign.None);
    }
    this.#attribs = {};
  }

  #endOpenTag(): void {
    if (this.#attribs) {
      this.#handler.onopentag(this.#tagname, this.#attribs);
      this.#attribs = null;
    }
    if (voidElements.has(this.#tagname)) this.#handler.onclosetag(this.#tagname);
    this.#tagname = "";
  }

  #popElement(): void {
    const name = this.#pop();
    if (foreignContextElements.has(name) || htmlIntegrationElements.has(name)) {
      this.#foreign.pop();
    }
    this.#handler.onclosetag(name);
  }

  #closeCurrentTag(): void {
    const name = this.#tagname;
    this.#endOpenTag();
    if (this.#top() === name) this.#popElement();
  }

  /** Text between two indices of everything written, across buffers. */
  #slice(start: number, end: number): string {
    if (start === end) return "";
    while (start - this.#bufferOffset >= this.#buffers[0].length) this.#shiftBuffer();
    let slice = this.#buffers[0].slice(start - this.#bufferOffset, end - this.#bufferOffset);
    while (end - this.#bufferOffset > this.#buffers[0].length) {
      this.#shiftBuffer();
      slice += this.#buffers[0].slice(0, end - this.#bufferOffset);
    }
    return slice;
  }

  #shiftBuffer(): void {
    this.#bufferOffset += this.#buffers[0].length;
    this.#buffers.shift();
  }
}

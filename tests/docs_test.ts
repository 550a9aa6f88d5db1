// The docs run. Every ```ts block of README.md and docs/*.md that is not
// marked `ignore` is written to a file and run with `deno run --check` as a
// main module (so its `export function` tasks and `import.meta.main` guard
// work as a user's would), with `jsr:@dmp/multiprocessing` mapped to this
// checkout. A block fails when it exits non-zero or prints anything on stderr;
// when it has `// → text` comments, its stdout must be exactly those texts, one
// line each, in order.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** One runnable block of a Markdown file. */
interface DocBlock {
  /** `README.md:42`: where the block starts. */
  where: string;
  code: string;
  /** The `// →` texts, in order; empty when the block states no output. */
  expected: string[];
}

/** The ```ts blocks of a Markdown text not marked `ignore`. */
function extractBlocks(markdown: string, file: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`${file}:${i + 1}: unclosed code block`);
    i = end;
    if (/\bignore\b/.test(open[3])) continue;
    const code = lines.slice(start, end).join("\n");
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1].trimEnd());
    blocks.push({ where: `${file}:${start + 1}`, code, expected });
  }
  return blocks;
}

async function markdownFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  return files.sort();
}

/** An import map for the blocks: the package's names to this checkout, plus its own imports. */
async function importMap(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const imports: Record<string, string> = { ...config.imports };
  for (const [subpath, file] of Object.entries(config.exports as Record<string, string>)) {
    const target = new URL(file, ROOT).href;
    imports[`jsr:@dmp/multiprocessing${subpath.slice(1)}`] = target;
    imports[`@dmp/multiprocessing${subpath.slice(1)}`] = target;
  }
  return JSON.stringify({ imports }, null, 2);
}

async function runBlock(dir: string, block: DocBlock, index: number): Promise<string | undefined> {
  const file = `${dir}/block_${index}.ts`;
  await Deno.writeTextFile(file, `// ${block.where}\n${block.code}\n`);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--check", "--no-lock", "--quiet", "--config", `${dir}/deno.json`, file],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  if (code !== 0 || err.trim() !== "") {
    return `${block.where}: exit ${code}\n${err.trim()}\n${out.trim()}`;
  }
  if (block.expected.length === 0) return undefined;
  const got = out.replace(/\n$/, "").split("\n").map((line) => line.trimEnd());
  if (JSON.stringify(got) !== JSON.stringify(block.expected)) {
    return `${block.where}: printed\n  ${got.join("\n  ")}\nbut its // → comments say\n  ${
      block.expected.join("\n  ")
    }`;
  }
}

Deno.test("extractBlocks() takes ts blocks, skips ignored ones, and reads // → comments", () => {
  const md = [
    "# t",
    "```ts",
    "console.log(1); // → 1",
    "```",
    "```ts ignore",
    "nope();",
    "```",
    "```sh",
    "echo",
    "```",
  ].join("\n");
  const blocks = extractBlocks(md, "x.md");
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].where, "x.md:3");
  assert.deepEqual(blocks[0].expected, ["1"]);
});

for (const file of await markdownFiles()) {
  const blocks = extractBlocks(await Deno.readTextFile(new URL(file, ROOT)), file);
  if (blocks.length === 0) continue;
  Deno.test(`every ts block of ${file} runs and prints what its comments say`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "docs-test-" });
    try {
      await Deno.writeTextFile(`${dir}/deno.json`, await importMap());
      const failures: string[] = [];
      // Two at a time: each block starts workers of its own.
      let next = 0;
      const worker = async () => {
        while (next < blocks.length) {
          const index = next++;
          const failure = await runBlock(dir, blocks[index], index);
          if (failure) failures.push(failure);
        }
      };
      await Promise.all([worker(), worker()]);
      assert.deepEqual(failures, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * The lines of prose (outside fenced blocks) with an inline code span that the
 * line does not close: `deno fmt` wraps prose, and a span cut across two lines
 * reads as broken code (`` `deno task`` then ``test` ``).
 */
function splitCodeSpans(markdown: string, file: string): string[] {
  const found: string[] = [];
  let fenced = false;
  markdown.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced || /^\s*```/.test(line)) return;
    // Double-backtick spans hold single backticks; then every span is `...`.
    const singles = line.replace(/``.*?``/g, "").match(/`/g)?.length ?? 0;
    if (singles % 2 === 1) found.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return found;
}

Deno.test("docs: no inline code span is cut across two lines", async () => {
  assert.deepEqual(splitCodeSpans("a `b c`\n`d\ne`\n```\n`\n```\n`` a ` b ``", "x.md"), [
    "x.md:2: `d",
    "x.md:3: e`",
  ]);
  const found: string[] = [];
  for (const file of await markdownFiles()) {
    found.push(...splitCodeSpans(await Deno.readTextFile(new URL(file, ROOT)), file));
  }
  assert.deepEqual(found, []);
});

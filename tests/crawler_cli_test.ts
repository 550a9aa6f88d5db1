import assert from "node:assert/strict";
import { serveDemoSite } from "../crawler/demo_site.ts";

const cli = new URL("../crawler/cli.ts", import.meta.url);
const config = new URL("../deno.json", import.meta.url);

function command(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config.pathname, cli.pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
}

async function run(args: string[]) {
  const { code, stdout, stderr } = await command(args).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("crawl CLI: usage errors exit 2 and say what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const urls = `${dir}/urls.txt`;
    await Deno.writeTextFile(urls, "http://127.0.0.1:1/\n");
    for (
      const [args, message] of [
        [[], /missing URLS_FILE/],
        [[`${dir}/nope.txt`], /cannot read URLS_FILE/],
        [[urls, "--depth", "x"], /--depth must be an integer >= 0, got 'x'/],
        [[urls, "--format", "xml"], /--format must be jsonl, csv or text/],
        [[urls, "--scope", "planet"], /--scope must be/],
        [[urls, "--select", "no-equals"], /invalid --select 'no-equals'/],
        [[urls, "--bogus"], /Unknown option '--bogus'/],
      ] as const
    ) {
      const { code, stderr } = await run([...args]);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl CLI: skips bad lines, writes jsonl, csv and the seed's text format", async () => {
  const site = serveDemoSite({ pages: 3 });
  const dir = await Deno.makeTempDir();
  try {
    const urls = `${dir}/urls.txt`;
    await Deno.writeTextFile(urls, `# start\n\n${site.url}\nftp://nope\n${site.url}page/1\n`);
    const jsonl = await run([urls, "--quiet", "--no-robots"]);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    assert.match(jsonl.stderr, /urls\.txt:4: skipped, not an http\(s\) URL: ftp:\/\/nope/);
    assert.match(jsonl.stderr, /pages +2 \(ok 2, failed 0\)/);
    const records = jsonl.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.title).sort(), ["Demo site", "Page 1"]);
    const out = `${dir}/out.csv`;
    const csv = await run([
      urls,
      "--quiet",
      "--format",
      "csv",
      "--out",
      out,
      "--select",
      "h=title",
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = (await Deno.readTextFile(out)).trim().split("\n");
    assert.equal(
      rows[0],
      "url,finalUrl,status,contentType,title,links,bytes,depth,elapsedMs,error,fields.h",
    );
    assert.equal(rows.length, 3);
    const text = await run([urls, "--quiet", "--format", "text"]);
    assert.match(text.stdout, new RegExp(`^url:<${site.url}> size:\\[\\d+\\]$`, "m"));
  } finally {
    await site.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crawl CLI: Ctrl-C stops scheduling, keeps records whole, prints the summary, exits 130", async () => {
  const site = serveDemoSite({ pages: 400, slowMs: 200 });
  const dir = await Deno.makeTempDir();
  try {
    const urls = `${dir}/urls.txt`;
    await Deno.writeTextFile(urls, `${site.url}\n`);
    const child = command([urls, "--quiet", "--depth", "20", "--delay", "20", "--per-host", "1"])
      .spawn();
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const { code } = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(code, 130, stderr);
    assert.match(stderr, /Crawl interrupted/);
    assert.ok(text.endsWith("\n"), "the output ends with a complete record");
    const records = text.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(records.length >= 1 && records.length < 400, `${records.length} records`);
  } finally {
    await site.close();
    await Deno.remove(dir, { recursive: true });
  }
});

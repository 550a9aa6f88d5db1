// `deno task demo`: the bundled crawler at work, with no network. It serves a
// generated site on 127.0.0.1 (hundreds of linked pages, a robots.txt rule,
// 404/500/flaky/slow/redirect pages and a PDF) and crawls it with depth on the
// Pool: records go to a file, progress and the summary to stderr.
import { main } from "./crawler/cli.ts";
import { serveDemoSite } from "./crawler/demo_site.ts";

if (import.meta.main) {
  const site = serveDemoSite({ pages: 400 });
  const dir = await Deno.makeTempDir({ prefix: "crawl-demo-" });
  const urls = `${dir}/urls.txt`;
  const out = `${dir}/records.jsonl`;
  await Deno.writeTextFile(urls, `# the demo site\n${site.url}\n${site.url}page/200\n`);
  console.log(`Serving a demo site at ${site.url}; crawling it to depth 6.\n`);
  let code = 1;
  try {
    code = await main([urls, "--depth", "6", "--per-host", "4", "--out", out]);
  } finally {
    await site.close();
  }
  const lines = (await Deno.readTextFile(out)).trim().split("\n");
  console.log(`\n${lines.length} records in ${out}; a few of them:`);
  const interesting = lines.map((l) => JSON.parse(l)).filter((r) =>
    r.error || r.url.endsWith("/") || r.url.endsWith("/moved") || r.url.endsWith(".pdf")
  );
  for (const r of interesting.slice(0, 8)) {
    console.log(
      JSON.stringify({
        url: r.url,
        status: r.status,
        title: r.title,
        links: r.links.length,
        error: r.error,
      }),
    );
  }
  Deno.exit(code);
}

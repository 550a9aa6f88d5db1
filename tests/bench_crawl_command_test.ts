// The crawl benchmarks start the crawler with `deno task crawl`'s flags, read
// from deno.json (bench/_crawl_command.ts).

import assert from "node:assert/strict";
import { crawlerArgs, taskFlags } from "../bench/_crawl_command.ts";

Deno.test("taskFlags(): the deno run flags of the crawl task, and only those", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.deepEqual(taskFlags(config.tasks.crawl), ["-A", "--v8-flags=--max-semi-space-size=4"]);
  assert.deepEqual(crawlerArgs.slice(0, 3), ["run", "-A", "--v8-flags=--max-semi-space-size=4"]);
  // Spacing does not matter; the script's own arguments are not deno's.
  assert.deepEqual(taskFlags("  deno  run -A\t--v8-flags=--x crawler/cli.ts --quiet -h"), [
    "-A",
    "--v8-flags=--x",
  ]);
  assert.deepEqual(taskFlags("deno run crawler/cli.ts"), []);
  // A shape it cannot pass on faithfully is refused.
  for (
    const task of [
      "deno task other",
      "deno run -A other.ts",
      "deno run -A --location http://x crawler/cli.ts",
      `deno run -A "--v8-flags=--a --b" crawler/cli.ts`,
      "deno run -A --v8-flags=$FLAGS crawler/cli.ts",
    ]
  ) {
    assert.throws(() => taskFlags(task), /crawl task/, task);
  }
});

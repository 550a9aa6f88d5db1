// How the crawl benchmarks start the crawler: as `deno task crawl` does (the
// task's `deno run` flags, read from deno.json, so that the figures are those
// users get), with this checkout's config.

const configUrl = new URL("../deno.json", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(configUrl));
const task: string = config.tasks.crawl;

/** The `deno` arguments that start the crawler's command line; append its own. */
export const crawlerArgs: string[] = [
  "run",
  // The task's flags between `deno run` and the script (-A, --v8-flags...).
  ...task.replace(/^deno run /, "").split(" ").filter((word) => word.startsWith("-")),
  "--config",
  configUrl.pathname,
  new URL("../crawler/cli.ts", import.meta.url).pathname,
];

// How the crawl benchmarks start the crawler: as `deno task crawl` does (the
// task's `deno run` flags, read from deno.json, so that the figures are those
// users get), with this checkout's config.

/**
 * The `deno run` flags of a task `deno run FLAGS... crawler/cli.ts [ARGS...]`:
 * the words between `run` and the script (the script's own arguments are not
 * deno's). A task of another shape (quotes, a flag's value as its own word, no
 * crawler/cli.ts) is an error rather than flags silently dropped or misread.
 */
export function taskFlags(task: string): string[] {
  const words = task.trim().split(/\s+/);
  const script = words.indexOf("crawler/cli.ts");
  if (words[0] !== "deno" || words[1] !== "run" || script < 0) {
    throw new Error(`the crawl task is not 'deno run FLAGS... crawler/cli.ts': ${task}`);
  }
  const flags = words.slice(2, script);
  const odd = flags.find((word) => !word.startsWith("-") || /["'\\$`]/.test(word));
  if (odd !== undefined) {
    throw new Error(`the crawl task's flag '${odd}' cannot be passed on as is: ${task}`);
  }
  return flags;
}

const configUrl = new URL("../deno.json", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(configUrl));

/** The `deno` arguments that start the crawler's command line; append its own. */
export const crawlerArgs: string[] = [
  "run",
  // The task's flags between `deno run` and the script (-A, --v8-flags...).
  ...taskFlags(config.tasks.crawl),
  "--config",
  configUrl.pathname,
  new URL("../crawler/cli.ts", import.meta.url).pathname,
];

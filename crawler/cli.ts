// `deno task crawl URLS_FILE [options]`: the crawler's command line.
// Exit codes: 0 the crawl ran (page errors are data), 2 usage errors, 130 interrupted.

import { parseArgs } from "node:util";
import { crawl, type CrawlRecord, type CrawlStats, newStats } from "./crawl.ts";
import { parseSelector, type Selector } from "./_select.ts";
import { normalizeUrl, type Scope } from "./_url.ts";
import { cpuCount } from "../mod.ts";

const USAGE = `Usage: deno task crawl URLS_FILE [options]

URLS_FILE has one URL a line; blank lines and # comments are skipped.

Options:
  --out FILE            write records here (default: stdout)
  --format FORMAT       jsonl (default), csv, or text (url:<URL> size:[N])
  --depth N             link depth to follow; 0 = only the listed URLs (default 0)
  --max-pages N         most records in all
  --processes N         pool workers (default: cpuCount())
  --concurrency N       requests in flight (default 16)
  --per-host N          requests in flight per host (default 2)
  --delay MS            least time between requests to one host (robots.txt Crawl-delay raises it)
  --timeout MS          per request (default 30000)
  --retries N           retries of network errors, 408, 429 and 5xx-like statuses (default 2)
  --max-bytes N         body bytes read at most (default 10485760)
  --scope SCOPE         same-host (default), same-origin, same-domain or any
  --user-agent S        (default dmp-crawler/0.1)
  --no-robots           ignore robots.txt
  --select NAME=CSS[@ATTR]   a field: text of the first match, or that attribute (repeatable)
  --parse main|worker   where HTML is parsed (default worker)
  --quiet               no progress display
  -h, --help            this text`;

class UsageError extends Error {}

interface CliOptions {
  file: string;
  out?: string;
  format: "jsonl" | "csv" | "text";
  quiet: boolean;
  crawl: Parameters<typeof crawl>[1] & { selectors: Selector[] };
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  }
  return n;
}

function parseCli(args: string[]): CliOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        format: { type: "string" },
        depth: { type: "string" },
        "max-pages": { type: "string" },
        processes: { type: "string" },
        concurrency: { type: "string" },
        "per-host": { type: "string" },
        delay: { type: "string" },
        timeout: { type: "string" },
        retries: { type: "string" },
        "max-bytes": { type: "string" },
        scope: { type: "string" },
        "user-agent": { type: "string" },
        "no-robots": { type: "boolean" },
        select: { type: "string", multiple: true },
        parse: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      parsed.positionals.length === 0
        ? "missing URLS_FILE"
        : `expected one URLS_FILE, got ${parsed.positionals.length}`,
    );
  }
  const format = v.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv" && format !== "text") {
    throw new UsageError(`--format must be jsonl, csv or text, got '${format}'`);
  }
  const scope = v.scope ?? "same-host";
  if (!["same-host", "same-origin", "same-domain", "any"].includes(scope)) {
    throw new UsageError(
      `--scope must be same-host, same-origin, same-domain or any, got '${scope}'`,
    );
  }
  const parse = v.parse ?? "worker";
  if (parse !== "main" && parse !== "worker") {
    throw new UsageError(`--parse must be main or worker, got '${parse}'`);
  }
  let selectors: Selector[];
  try {
    selectors = (v.select ?? []).map(parseSelector);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    file: parsed.positionals[0],
    out: v.out,
    format,
    quiet: v.quiet ?? false,
    crawl: {
      depth: integer("depth", v.depth, 0),
      maxPages: integer("max-pages", v["max-pages"], 1),
      processes: integer("processes", v.processes, 1) ?? cpuCount(),
      concurrency: integer("concurrency", v.concurrency, 1),
      perHost: integer("per-host", v["per-host"], 1),
      delayMs: integer("delay", v.delay, 0),
      timeoutMs: integer("timeout", v.timeout, 1),
      retries: integer("retries", v.retries, 0),
      maxBytes: integer("max-bytes", v["max-bytes"], 1),
      scope: scope as Scope,
      userAgent: v["user-agent"],
      robots: !v["no-robots"],
      selectors,
      parse,
    },
  };
}

/** Reads the URL list: blank lines and # comments skipped, invalid lines reported and skipped. */
async function readUrls(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UsageError(`cannot read URLS_FILE '${file}': ${(error as Error).message}`);
  }
  const urls: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    if (normalizeUrl(trimmed)) urls.push(trimmed);
    else console.error(`${file}:${i + 1}: skipped, not an http(s) URL: ${trimmed}`);
  });
  return urls;
}

const CSV_COLUMNS = [
  "url",
  "finalUrl",
  "status",
  "contentType",
  "title",
  "links",
  "bytes",
  "depth",
  "elapsedMs",
  "error",
];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined
    ? ""
    : Array.isArray(value)
    ? value.join(" ")
    : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Formats one record as one complete line (written in one piece). */
function formatter(format: CliOptions["format"], selectors: Selector[]): {
  header?: string;
  line(record: CrawlRecord): string;
} {
  if (format === "jsonl") return { line: (r) => JSON.stringify(r) + "\n" };
  if (format === "text") return { line: (r) => `url:<${r.url}> size:[${r.bytes}]\n` };
  const fieldNames = selectors.map((s) => s.name);
  return {
    header: [...CSV_COLUMNS, ...fieldNames.map((n) => `fields.${n}`)].join(",") + "\n",
    line: (r) =>
      [
        ...CSV_COLUMNS.map((c) => csvCell((r as unknown as Record<string, unknown>)[c])),
        ...fieldNames.map((n) => csvCell(r.fields?.[n])),
      ].join(",") + "\n",
  };
}

function summary(stats: CrawlStats, interrupted: boolean): string {
  const seconds = (performance.now() - stats.startedAt) / 1000;
  const statuses = Object.entries(stats.statuses).sort().map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    interrupted
      ? "Crawl interrupted (Ctrl-C): in-flight requests finished, nothing more scheduled."
      : "Crawl finished.",
    `  pages            ${stats.pages} (ok ${stats.ok}, failed ${stats.failed})`,
    `  bytes            ${stats.bytes}`,
    `  statuses         ${statuses || "none"}`,
    `  retries          ${stats.retries}`,
    `  robots.txt       ${stats.blockedByRobots} blocked`,
    `  duplicates       ${stats.duplicates} filtered`,
    `  time             ${seconds.toFixed(1)} s, ${
      (stats.pages / Math.max(seconds, 1e-3)).toFixed(1)
    } pages/s`,
  ].join("\n");
}

function progressLine(stats: CrawlStats): string {
  const done = stats.pages;
  const total = done + stats.queued;
  const width = 24;
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  const seconds = (performance.now() - stats.startedAt) / 1000;
  return `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} pages, ` +
    `${stats.inFlight} in flight, ${(stats.bytes / 1e6).toFixed(1)} MB, ` +
    `${(done / Math.max(seconds, 1e-3)).toFixed(1)} pages/s `;
}

/** Runs the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let cli: CliOptions | "help";
  let urls: string[];
  try {
    cli = parseCli(args);
    if (cli === "help") {
      console.log(USAGE);
      return 0;
    }
    urls = await readUrls(cli.file);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`crawl: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const output = cli.out
    ? await Deno.open(cli.out, { write: true, create: true, truncate: true })
    : Deno.stdout;
  const encoder = new TextEncoder();
  const write = async (text: string) => {
    const bytes = encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += await output.write(bytes.subarray(at));
  };
  const stats = newStats();
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return; // a second Ctrl-C waits like the first: records stay whole
    interrupted = true;
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const showProgress = !cli.quiet && Deno.stderr.isTerminal();
  const progress = showProgress
    ? setInterval(() => Deno.stderr.writeSync(encoder.encode(progressLine(stats))), 100)
    : undefined;
  const format = formatter(cli.format, cli.crawl.selectors);
  try {
    if (format.header) await write(format.header);
    for await (const record of crawl(urls, { ...cli.crawl, stats, signal: controller.signal })) {
      await write(format.line(record));
    }
  } finally {
    clearInterval(progress);
    Deno.removeSignalListener("SIGINT", onSigint);
    if (showProgress) Deno.stderr.writeSync(encoder.encode(progressLine(stats) + "\n"));
    if (output !== Deno.stdout) (output as Deno.FsFile).close();
  }
  console.error(summary(stats, interrupted));
  return interrupted ? 130 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

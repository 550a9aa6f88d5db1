// `deno task crawl URLS_FILE [options]`: the crawler's command line.
// Exit codes: 0 the crawl ran (page errors are data), 1 a runtime failure
// (the output could not be written), 2 a usage error, 130 / 143 interrupted
// by SIGINT / SIGTERM. See docs/crawler.md.

import {
  crawl,
  type CrawlOptions,
  type CrawlOutput,
  type CrawlRecord,
  type CrawlStats,
  type CrawlTotals,
  newStats,
} from "./crawl.ts";
import { StateError, StateUsageError } from "./_frontier.ts";
import { parseState } from "./_state.ts";
import { parseArgs, UsageError } from "./_args.ts";
import { csvCell } from "./_csv.ts";
import { describeRange, inRange, type Limit, LIMITS } from "./_limits.ts";
import { parseSelector, type Selector } from "./_select.ts";
import { shown } from "./_terminal.ts";
import type { Scope } from "./_url.ts";
import { fsReason, readUrlFile } from "./_url_file.ts";
import { cpuCount } from "../mod.ts";

const USAGE = `Usage: deno task crawl URLS_FILE [options]

URLS_FILE has one URL a line; blank lines and # comments are skipped.

Options:
  --out FILE            write records here (default: stdout)
  --format FORMAT       jsonl (default), csv, or text (url:<URL> size:[N])
  --depth N             link depth to follow; 0 = only the listed URLs (default 0)
  --max-pages N         most records in all
  --processes N         pool workers, at most 256 (default: cpuCount())
  --concurrency N       requests in flight, at most 4096 (default 16)
  --per-host N          requests in flight per host, at most 4096 (default 2)
  --delay MS            least time between requests to one host (robots.txt Crawl-delay raises it)
  --timeout MS          per request, parsing included (default 30000)
  --retries N           retries of network errors, 408, 429 and 5xx-like statuses (default 2)
  --max-bytes N         body bytes read at most, up to 256 MiB (default 10485760)
  --scope SCOPE         same-host (default), same-origin, same-domain or any
  --user-agent S        (default dmp-crawler/0.1)
  --no-robots           ignore robots.txt
  --select NAME=CSS[@ATTR]   a field: text of the first match, or that attribute (repeatable)
  --parse main|worker   where HTML is parsed (default worker)
  --state PATH|redis://HOST:PORT[/DB]
                        keep the crawl's state in a SQLite file or in Redis: the same command
                        resumes it, and processes sharing a Redis state share the crawl
  --job NAME            the crawl's name in Redis (default crawl)
  --lease MS            how long a URL taken by a process stays reserved while it runs
                        (default 60000, at least 1000)
  --fresh               discard the saved state first
  --quiet               no progress display
  -h, --help            this text
Delays and timeouts are at most 2147483647 ms. Exit: 0 done, 1 output failed, 2 usage error,
130/143 interrupted (SIGINT/SIGTERM). More in docs/crawler.md.`;

const HINT = "Try 'deno task crawl --help'.";

interface CliOptions {
  file: string;
  out?: string;
  format: "jsonl" | "csv" | "text";
  quiet: boolean;
  crawl: CrawlOptions & { selectors: Selector[]; timeoutMs: number };
}

/** A numeric flag's value, or undefined when absent. */
function integer(limit: Limit, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits only: no sign, no spaces, no 1e3, 0x10 or 1.5.
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!inRange(n, limit)) {
    throw new UsageError(`${limit.flag} must be ${describeRange(limit)}, got '${value}'`);
  }
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    const list = `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}`;
    throw new UsageError(`${flag} must be ${list}, got '${value}'`);
  }
  return value as T;
}

function parseCli(args: string[]): CliOptions | "help" {
  const parsed = parseArgs(args, {
    values: [
      "out",
      "format",
      "depth",
      "max-pages",
      "processes",
      "concurrency",
      "per-host",
      "delay",
      "timeout",
      "retries",
      "max-bytes",
      "scope",
      "user-agent",
      "parse",
      "state",
      "job",
      "lease",
    ],
    repeatable: ["select"],
    flags: ["no-robots", "quiet", "help", "fresh"],
    short: { h: "help" },
  });
  const v = parsed.values;
  if (parsed.flags.help) return "help";
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      parsed.positionals.length === 0
        ? "missing URLS_FILE"
        : `expected one URLS_FILE, got ${parsed.positionals.length}: ${
          parsed.positionals.join(" ")
        }`,
    );
  }
  const format = oneOf("--format", v.format ?? "jsonl", ["jsonl", "csv", "text"] as const);
  const scope = oneOf(
    "--scope",
    v.scope ?? "same-host",
    ["same-host", "same-origin", "same-domain", "any"] as const satisfies readonly Scope[],
  );
  const parse = oneOf("--parse", v.parse ?? "worker", ["main", "worker"] as const);
  if (v.out === "") throw new UsageError("--out needs a file name");
  const userAgent = v["user-agent"];
  if (userAgent !== undefined && !/^[\x20-\x7e]+$/.test(userAgent)) {
    throw new UsageError("--user-agent must be non-empty printable ASCII (it is sent as a header)");
  }
  let selectors: Selector[];
  try {
    selectors = (parsed.repeated.select ?? []).map(parseSelector);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const state = v.state;
  if (state === undefined) {
    for (const name of ["job", "lease"] as const) {
      if (v[name] !== undefined) throw new UsageError(`--${name} needs --state`);
    }
    if (parsed.flags.fresh) throw new UsageError("--fresh needs --state");
  }
  try {
    parseState(state, v.job);
  } catch (error) {
    if (error instanceof StateUsageError) throw new UsageError(flagged(error.message));
    throw error;
  }
  return {
    file: parsed.positionals[0],
    out: v.out,
    format,
    quiet: parsed.flags.quiet ?? false,
    crawl: {
      depth: integer(LIMITS.depth, v.depth),
      maxPages: integer(LIMITS.maxPages, v["max-pages"]),
      processes: integer(LIMITS.processes, v.processes) ??
        Math.min(cpuCount(), LIMITS.processes.max),
      concurrency: integer(LIMITS.concurrency, v.concurrency),
      perHost: integer(LIMITS.perHost, v["per-host"]),
      delayMs: integer(LIMITS.delayMs, v.delay),
      timeoutMs: integer(LIMITS.timeoutMs, v.timeout) ?? 30_000,
      retries: integer(LIMITS.retries, v.retries),
      maxBytes: integer(LIMITS.maxBytes, v["max-bytes"]),
      scope,
      userAgent,
      robots: !parsed.flags["no-robots"],
      selectors,
      parse,
      state,
      job: v.job,
      lease: integer(LIMITS.lease, v.lease),
      fresh: parsed.flags.fresh ?? false,
    },
  };
}

/** A state message as the command line says it: "state ..." is "--state ...". */
function flagged(message: string): string {
  return /^(state|job|fresh|lease)\b/.test(message) ? `--${message}` : message;
}

/**
 * Opens --out; a path that cannot be written is a usage error. It is
 * truncated, except with --state: the crawl then rewinds it to where its
 * state says the records it committed end.
 */
async function openOutput(path: string, resumable: boolean): Promise<Deno.FsFile> {
  if (resumable) {
    // Looked at before opening: opening a FIFO to write waits for a reader.
    let stat: Deno.FileInfo | undefined;
    try {
      stat = await Deno.stat(path);
    } catch {
      // Created below, or refused there with the reason.
    }
    if (stat && !stat.isFile) {
      throw new UsageError(
        `--out '${path}' is not a regular file (a directory, a pipe or a device): with --state a resumed crawl cuts --out back to its last committed record; give a file path`,
      );
    }
  }
  try {
    return await Deno.open(path, { write: true, create: true, truncate: !resumable });
  } catch (error) {
    throw new UsageError(`cannot write --out '${path}': ${fsReason(error)}`);
  }
}

const CSV_COLUMNS = [
  "url",
  "finalUrl",
  "status",
  "contentType",
  "encoding",
  "title",
  "links",
  "bytes",
  "depth",
  "elapsedMs",
  "error",
];

/** Formats one record as one complete line (written in one piece). */
function formatter(format: CliOptions["format"], selectors: Selector[]): {
  header?: string;
  line(record: CrawlRecord): string;
} {
  if (format === "jsonl") {
    // JSON.stringify escapes C0 controls; DEL and C1 controls (U+009B is a
    // CSI to some terminals), and U+2028/9, are escaped too: same JSON, safe to `cat`.
    return {
      line: (r) =>
        JSON.stringify(r).replace(
          /[\x7f-\x9f\u2028\u2029]/g,
          (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
        ) + "\n",
    };
  }
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

function summary(stats: CrawlStats, headline: string): string {
  const text = thisProcess(stats, stats.crawl ? `${headline} This process:` : headline);
  return stats.crawl ? `${text}\n${wholeCrawl(stats.crawl)}` : text;
}

function thisProcess(stats: CrawlStats, headline: string): string {
  const seconds = (performance.now() - stats.startedAt) / 1000;
  const statuses = Object.entries(stats.statuses).sort().map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    headline,
    `  pages            ${stats.pages} (ok ${stats.ok}, failed ${stats.failed})`,
    `  bytes            ${stats.bytes}`,
    `  statuses         ${statuses || "none"}`,
    `  retries          ${stats.retries}`,
    `  robots.txt       ${stats.blockedByRobots} blocked, ${stats.robotsUnreachable} not fetched as robots.txt was unreachable`,
    `  duplicates       ${stats.duplicates} filtered`,
    `  time             ${seconds.toFixed(1)} s, ${
      (stats.pages / Math.max(seconds, 1e-3)).toFixed(1)
    } pages/s`,
  ].join("\n");
}

/** The whole crawl's counters, from its state. */
function wholeCrawl(totals: CrawlTotals): string {
  const statuses = Object.entries(totals.statuses).sort().map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    "The whole crawl (every process and run, from its state):",
    `  pages            ${totals.pages} (ok ${totals.ok}, failed ${totals.failed})`,
    `  bytes            ${totals.bytes}`,
    `  statuses         ${statuses || "none"}`,
    `  retries          ${totals.retries}`,
    `  robots.txt       ${totals.blockedByRobots} blocked, ${totals.robotsUnreachable} not fetched as robots.txt was unreachable`,
    `  duplicates       ${totals.duplicates} filtered`,
    `  URLs             ${totals.seen} seen, ${totals.queued} queued, ${totals.leased} in flight`,
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

const encoder = new TextEncoder();

/** Writes a line to stderr; a closed stderr is not worth failing for. */
function say(text: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(text + "\n"));
  } catch {
    // Nowhere left to report to.
  }
}

/** This machine's name, part of an --out file's name in a shared crawl's state. */
function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** A failure to write the records (disk full, a closed pipe...): exit code 1. */
class OutputError extends Error {}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
/** How long a second signal lets a record being written complete (or stderr take the summary). */
const WRITE_GRACE_MS = 1000;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/**
 * Runs the command line; returns the exit code.
 *
 * @param args The arguments after the script name.
 */
export async function main(args: string[]): Promise<number> {
  let cli: CliOptions | "help";
  let urls: string[];
  let output: Deno.FsFile | undefined;
  try {
    cli = parseCli(args);
    if (cli === "help") {
      console.log(USAGE);
      return 0;
    }
    urls = await readUrlFile(cli.file, say);
    if (cli.out !== undefined) output = await openOutput(cli.out, cli.crawl.state !== undefined);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(`crawl: ${shown(error.message, 300)}`);
    say(HINT);
    return 2;
  }
  try {
    return await run(cli, urls, output);
  } finally {
    try {
      output?.close();
    } catch {
      // Already closed by a failed write.
    }
  }
}

async function run(cli: CliOptions, urls: string[], output: Deno.FsFile | undefined) {
  const sink = output ?? Deno.stdout;
  const sinkName = cli.out === undefined ? "stdout" : `'${shown(cli.out)}'`;
  /** Bytes of --out holding whole records (and the CSV header). */
  let position = 0;
  // A regular file takes a record at once: written synchronously, it costs a
  // system call, where an asynchronous write cost a trip through Deno's
  // blocking-task threads (~40 us a record, a fifth of the crawl's main
  // thread). Stdout, a pipe or a terminal may block: written asynchronously,
  // the crawl goes on meanwhile (its timers keep its leases alive).
  const synchronous = output !== undefined && (await output.stat()).isFile;
  const write = async (text: string) => {
    const bytes = encoder.encode(text);
    try {
      for (let at = 0; at < bytes.length;) {
        at += synchronous
          ? sink.writeSync(bytes.subarray(at))
          : await sink.write(bytes.subarray(at));
      }
    } catch (error) {
      throw new OutputError(
        `cannot write records to ${sinkName}: ${fsReason(error)}`,
        { cause: error },
      );
    }
    position += bytes.length;
  };
  const format = formatter(cli.format, cli.crawl.selectors);
  // With --state, --out is the crawl's output: a resumed crawl cuts it back
  // to the end of the last record its state committed, then writes again the
  // records committed after that (see CrawlOutput). Stdout cannot be cut:
  // its records come at least once.
  const crawlOutput: CrawlOutput | undefined = output && cli.crawl.state !== undefined
    ? {
      name: `${hostName()}:${await Deno.realPath(cli.out!)}`,
      position: () => position,
      rewind: async (at: number) => {
        const size = (await output.stat()).size;
        if (size < at) {
          say(
            `crawl: warning: --out '${shown(cli.out!)}' has ${size} bytes, fewer than the ${at} ` +
              `its crawl wrote: it was changed outside the crawl, and records may be missing from it`,
          );
        }
        position = Math.min(at, size);
        await output.truncate(position);
        await output.seek(position, Deno.SeekMode.Start);
        if (position === 0 && format.header) await write(format.header);
      },
    }
    : undefined;
  const stats = newStats();
  const controller = new AbortController();
  const showProgress = !cli.quiet && Deno.stderr.isTerminal();
  const progress = showProgress
    ? setInterval(() => {
      try {
        Deno.stderr.writeSync(encoder.encode(progressLine(stats)));
      } catch {
        // stderr closed: no progress then.
      }
    }, 100)
    : undefined;
  const endProgress = () => {
    clearInterval(progress);
    if (showProgress) say(progressLine(stats));
  };

  // The first signal stops the crawl gracefully; a second one quits at once,
  // between two records: the write in progress is given WRITE_GRACE_MS to
  // complete, so the output ends in a whole record, unless the reader of a
  // pipe does not read. Then the process quits anyway, and the last record
  // may be cut short (with --state and --out, the next run cuts it off and
  // writes it again).
  let stopSignal: StopSignal | undefined;
  let writing = false;
  let quitting = false;
  const quit = async (cutShort: boolean) => {
    if (quitting) return;
    quitting = true;
    endProgress();
    const headline = `Crawl stopped at once by a second ${stopSignal}: requests in flight ` +
      `were abandoned.${
        cutShort
          ? ` The record being written to ${sinkName} did not complete within ${
            WRITE_GRACE_MS / 1000
          } s (the output is not read) and may be cut short.`
          : ""
      }`;
    // stderr may be a pipe nobody reads too: the summary gets the same grace.
    const text = encoder.encode(summary(stats, headline) + "\n");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Deno.stderr.write(text).catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, WRITE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    Deno.exit(SIGNAL_EXIT_CODES[stopSignal!]);
  };
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const listeners: [StopSignal, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => {
      if (stopSignal === undefined) {
        stopSignal = signal;
        say(
          `${showProgress ? "\n" : ""}Stopping (${signal}): nothing new starts; ` +
            `${stats.inFlight} request(s) in flight end within ${cli.crawl.timeoutMs} ms. ` +
            `Press Ctrl-C again to quit at once.`,
        );
        controller.abort();
        return;
      }
      stopSignal = signal;
      if (!writing) void quit(false);
      else if (graceTimer === undefined) {
        graceTimer = setTimeout(() => void quit(true), WRITE_GRACE_MS);
      }
    };
    try {
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    } catch {
      // SIGTERM cannot be listened for on Windows.
    }
  }

  let failure: OutputError | StateError | undefined;
  try {
    if (format.header && !crawlOutput) await write(format.header);
    for await (
      const record of crawl(urls, {
        ...cli.crawl,
        stats,
        signal: controller.signal,
        output: crawlOutput,
        onWarning: (message) => say(`crawl: ${message}`),
      })
    ) {
      // Quitting (it writes the summary, then exits): no record starts now.
      if (quitting) await new Promise<never>(() => {});
      writing = true;
      try {
        await write(format.line(record));
      } finally {
        writing = false;
      }
      if (graceTimer !== undefined) {
        clearTimeout(graceTimer);
        await quit(false);
      }
    }
  } catch (error) {
    if (!(error instanceof OutputError) && !(error instanceof StateError)) throw error;
    failure = error;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    clearTimeout(graceTimer);
    endProgress();
  }
  if (failure instanceof StateUsageError) {
    // The state could not be opened: nothing was fetched.
    say(`crawl: ${shown(flagged(failure.message), 300)}`);
    say(HINT);
    return 2;
  }
  if (failure) {
    say(`crawl: ${shown(failure.message, 500)}`);
    say(summary(
      stats,
      failure instanceof OutputError
        ? "Crawl stopped: the records could not be written."
        : "Crawl stopped: its state failed. The records written so far are kept.",
    ));
    return 1;
  }
  if (stopSignal) {
    say(summary(
      stats,
      `Crawl interrupted (${stopSignal}): nothing new was started; ` +
        `requests in flight finished or timed out.`,
    ));
    return SIGNAL_EXIT_CODES[stopSignal];
  }
  say(summary(stats, "Crawl finished."));
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    // A failure of the crawler itself: a message, not a stack trace.
    say(`crawl: ${shown(error instanceof Error ? error.message : String(error), 500)}`);
    code = 1;
  }
  Deno.exit(code);
}

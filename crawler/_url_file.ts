// The command line's URL file, read as a stream with bounds: a line longer
// than 64 KiB is skipped without being kept (so /dev/zero, or a file of one
// endless line, costs no memory), and past 1 GiB read or 1,000,000 URLs the
// file is refused as a usage error instead of filling the memory.

import { UsageError } from "./_args.ts";
import { shown } from "./_terminal.ts";
import { normalizeUrl } from "./_url.ts";

/** The bounds of a URL file. */
export interface UrlFileLimits {
  /** The longest line kept, in bytes; longer ones are skipped with a message. */
  maxLineBytes: number;
  /** The most bytes read; a larger file is a usage error. */
  maxFileBytes: number;
  /** The most URLs; more is a usage error. */
  maxUrls: number;
}

/** The command line's bounds. */
export const URL_FILE_LIMITS: UrlFileLimits = {
  maxLineBytes: 64 * 1024,
  maxFileBytes: 1024 * 1024 * 1024,
  maxUrls: 1_000_000,
};

/** Skipped lines reported one by one; past this many, only their count. */
const MAX_REPORTED_LINES = 20;

/**
 * Reads the URL list: blank lines and # comments skipped, invalid and overlong
 * lines reported (to `say`) and skipped.
 *
 * @throws {UsageError} When the file cannot be read, is over the limits, or has no URL.
 */
export async function readUrlFile(
  file: string,
  say: (line: string) => void,
  limits: UrlFileLimits = URL_FILE_LIMITS,
): Promise<string[]> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file, { read: true });
  } catch (error) {
    throw new UsageError(`cannot read URLS_FILE '${file}': ${fsReason(error)}`);
  }
  const urls: string[] = [];
  let skipped = 0;
  const skip = (lineNumber: number, why: string) => {
    if (++skipped <= MAX_REPORTED_LINES) say(`${shown(file)}:${lineNumber}: skipped, ${why}`);
  };
  const decoder = new TextDecoder();
  /** The pieces of the current line, while it is within maxLineBytes. */
  let pieces: Uint8Array[] = [];
  let lineBytes = 0;
  let lineNumber = 1;
  let total = 0;
  const endLine = () => {
    if (lineBytes > limits.maxLineBytes) {
      skip(lineNumber, `a line of more than ${limits.maxLineBytes} bytes`);
    } else {
      const line = decoder.decode(concat(pieces, lineBytes)).trim();
      if (line && !line.startsWith("#")) {
        if (!normalizeUrl(line)) skip(lineNumber, `not an http(s) URL: ${shown(line)}`);
        else if (urls.length >= limits.maxUrls) {
          throw new UsageError(
            `URLS_FILE '${file}' has more than ${limits.maxUrls} URLs; split it, and crawl ` +
              `the parts one after another with the same --state`,
          );
        } else urls.push(line);
      }
    }
    pieces = [];
    lineBytes = 0;
    lineNumber++;
  };
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      let n: number | null;
      try {
        n = await handle.read(buffer);
      } catch (error) {
        throw new UsageError(`cannot read URLS_FILE '${file}': ${fsReason(error)}`);
      }
      if (n === null) break;
      total += n;
      if (total > limits.maxFileBytes) {
        throw new UsageError(
          `URLS_FILE '${file}' is larger than ${limits.maxFileBytes} bytes, the most a URL ` +
            `file may hold; split it, and crawl the parts one after another with the same --state`,
        );
      }
      let start = 0;
      for (;;) {
        const newline = buffer.subarray(start, n).indexOf(10);
        const end = newline < 0 ? n : start + newline;
        // A line past the bound is only counted, never kept.
        if (lineBytes + (end - start) <= limits.maxLineBytes) {
          pieces.push(buffer.slice(start, end));
        }
        lineBytes += end - start;
        if (newline < 0) break;
        endLine();
        start = end + 1;
      }
    }
    if (lineBytes > 0) endLine();
  } finally {
    handle.close();
  }
  if (skipped > MAX_REPORTED_LINES) {
    say(`${shown(file)}: ${skipped - MAX_REPORTED_LINES} more lines skipped`);
  }
  if (urls.length === 0) throw new UsageError(`no http(s) URL in URLS_FILE '${file}'`);
  return urls;
}

function concat(pieces: Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const all = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    all.set(piece, at);
    at += piece.length;
  }
  return all;
}

/** Why a file operation failed, in words. */
export function fsReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory, not a file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

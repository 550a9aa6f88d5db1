// What went wrong with a request, in words. Deno's fetch rejects with a bare
// "fetch failed" and keeps the reason in `error.cause` ("error sending request
// for url (...): client error (Connect): tcp connect error: Connection refused
// (os error 111)"); a body that breaks off is "error reading a body from
// connection", with no cause at all.

import { clip, MAX_MESSAGE_URL_CHARS } from "./_limits.ts";

/** Where the request was when it failed. */
export type FetchPhase = "response" | "body";

/** A failed request in words, and whether trying again may help. */
export interface FetchFailure {
  message: string;
  /**
   * False for what a retry cannot change: a port Fetch refuses, a URL its
   * client cannot parse, a body that does not decompress, a certificate.
   */
  retriable: boolean;
}

/**
 * What went wrong with a request: "connection refused", "invalid HTTP
 * response (invalid HTTP version parsed)", ...
 *
 * @param error What fetch (or reading its body) threw.
 * @param phase "response" while waiting for the status and headers, "body" while reading it.
 * @param encoded Whether the body has a Content-Encoding (gzip, deflate, br, zstd).
 */
export function describeFetchError(
  error: unknown,
  phase: FetchPhase,
  encoded = false,
): FetchFailure {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error
    ? error.cause.message
    : undefined;
  // The reason, without hyper's "error sending request ... client error (Connect): " prefix.
  const detail = (cause ?? message)
    .replace(/^.*client error \([^)]*\):\s*/s, "")
    .replace(/^tcp connect error:\s*/, "");
  const text = `${message} ${cause ?? ""}`;
  const retriable = (message: string) => ({ message, retriable: true });
  const permanent = (message: string) => ({ message, retriable: false });
  // The Fetch standard's "bad ports" (9, 25, 6000, ...): Deno refuses them before connecting.
  const badPort = /Requests to port (\d+) are blocked/i.exec(text);
  if (badPort) {
    return permanent(
      `not fetched: port ${badPort[1]} is blocked (a "bad port" of the Fetch standard)`,
    );
  }
  const invalidUrl = /^Invalid URL: ?(.*)$/is.exec(message);
  if (invalidUrl) {
    return permanent(`invalid URL (${clip(invalidUrl[1] || message, MAX_MESSAGE_URL_CHARS)})`);
  }
  if (/connection refused/i.test(text)) return retriable("connection refused");
  if (/connection reset/i.test(text)) return retriable("connection reset");
  if (/dns error/i.test(text)) {
    return retriable(`DNS lookup failed (${detail.replace(/^dns error:\s*/, "")})`);
  }
  if (/network is unreachable|no route to host/i.test(text)) {
    return retriable(`network unreachable (${detail})`);
  }
  if (/connection closed before message completed/i.test(text)) {
    return retriable("connection closed before the response came");
  }
  // What Deno's decoders say of a broken gzip, deflate, brotli or zstd
  // stream ("unexpected end of file", "Invalid gzip header", "reached
  // unexpected EOF", "brotli error"): before "header" below reads it as HTTP's.
  const decoder = /gzip|deflate|brotli|zstd|decompress|unexpected (end of file|EOF)/i;
  if (phase === "body" && encoded && decoder.test(message)) {
    return permanent(`body could not be decompressed (${message})`);
  }
  if (
    /invalid HTTP|parsed$|message head is too large|invalid URI|header|content-length|chunk/i
      .test(detail)
  ) {
    return retriable(`invalid HTTP response (${detail})`);
  }
  if (/certificate/i.test(text)) return permanent(`TLS error (${detail})`);
  if (/tls|handshake|corrupt message/i.test(text)) return retriable(`TLS error (${detail})`);
  if (phase === "body") {
    if (/error reading a body|error decoding response body/i.test(message)) {
      return retriable("connection lost while reading the body");
    }
    // Any other failure of an encoded body whose connection held is the decoder's too.
    if (encoded || decoder.test(message)) {
      return permanent(`body could not be decompressed (${message})`);
    }
  }
  return retriable(detail || message);
}

// What went wrong with a request, in words. Deno's fetch rejects with a bare
// "fetch failed" and keeps the reason in `error.cause` ("error sending request
// for url (...): client error (Connect): tcp connect error: Connection refused
// (os error 111)"); a body that breaks off is "error reading a body from
// connection", with no cause at all.

/** Where the request was when it failed. */
export type FetchPhase = "response" | "body";

/**
 * A short description of a failed request: "connection refused",
 * "invalid HTTP response (invalid HTTP version parsed)", ...
 *
 * @param error What fetch (or reading its body) threw.
 * @param phase "response" while waiting for the status and headers, "body" while reading it.
 */
export function describeFetchError(error: unknown, phase: FetchPhase): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error
    ? error.cause.message
    : undefined;
  // The reason, without hyper's "error sending request ... client error (Connect): " prefix.
  const detail = (cause ?? message)
    .replace(/^.*client error \([^)]*\):\s*/s, "")
    .replace(/^tcp connect error:\s*/, "");
  const text = `${message} ${cause ?? ""}`;
  if (/connection refused/i.test(text)) return "connection refused";
  if (/connection reset/i.test(text)) return "connection reset";
  if (/dns error/i.test(text)) return `DNS lookup failed (${detail.replace(/^dns error:\s*/, "")})`;
  if (/network is unreachable|no route to host/i.test(text)) {
    return `network unreachable (${detail})`;
  }
  if (/connection closed before message completed/i.test(text)) {
    return "connection closed before the response came";
  }
  if (
    /invalid HTTP|parsed$|message head is too large|invalid URI|header|content-length|chunk/i
      .test(detail)
  ) {
    return `invalid HTTP response (${detail})`;
  }
  if (/certificate|tls|handshake|corrupt message/i.test(text)) return `TLS error (${detail})`;
  if (phase === "body") {
    if (/error reading a body|error decoding response body/i.test(message)) {
      return "connection lost while reading the body";
    }
    if (/gzip|deflate|brotli|zstd|decompress|corrupt|invalid .* header/i.test(message)) {
      return `body could not be decompressed (${message})`;
    }
  }
  return detail || message;
}

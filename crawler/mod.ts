/**
 * The bundled crawler, as a library: `crawl(urls, options)` yields one record
 * per requested URL; `RobotsTxt` is its RFC 9309 matcher.
 *
 * @module
 */
export * from "./crawl.ts";
export * from "./robots.ts";

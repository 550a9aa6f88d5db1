import assert from "node:assert/strict";
import { inScope, normalizeUrl } from "../crawler/_url.ts";

Deno.test("normalizeUrl() normalises http(s) URLs and refuses the rest", () => {
  assert.equal(normalizeUrl("HTTP://Example.COM:80/a/../b?q=1#frag"), "http://example.com/b?q=1");
  assert.equal(normalizeUrl(" https://example.com "), "https://example.com/");
  assert.equal(normalizeUrl("page", "https://example.com/dir/"), "https://example.com/dir/page");
  for (const bad of ["mailto:a@b", "ftp://x/", "javascript:void(0)", "not a url", ""]) {
    assert.equal(normalizeUrl(bad), undefined, bad);
  }
});

Deno.test("inScope() implements same-host, same-origin, same-domain and any", () => {
  const seed = "https://www.example.com/start";
  const cases: [string, boolean, boolean, boolean][] = [
    // url, same-host, same-origin, same-domain
    ["https://www.example.com/x", true, true, true],
    ["http://www.example.com/x", true, false, true],
    ["https://www.example.com:8443/x", true, false, true],
    ["https://blog.example.com/x", false, false, true],
    ["https://example.com/x", false, false, true],
    ["https://notexample.com/x", false, false, false],
  ];
  for (const [url, host, origin, domain] of cases) {
    assert.equal(inScope(url, seed, "same-host"), host, `same-host ${url}`);
    assert.equal(inScope(url, seed, "same-origin"), origin, `same-origin ${url}`);
    assert.equal(inScope(url, seed, "same-domain"), domain, `same-domain ${url}`);
    assert.ok(inScope(url, seed, "any"));
  }
});

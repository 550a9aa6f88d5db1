import assert from "node:assert/strict";
import { moduleBase, moduleUrls } from "../lib/_module_urls.ts";

Deno.test("moduleUrls() keeps URLs and resolves relative paths against the main module", () => {
  const here = new URL(".", Deno.mainModule).href; // the main module of a test run is this file
  assert.equal(moduleBase(), Deno.mainModule);
  assert.deepEqual(
    moduleUrls([
      "./fixtures/tasks.ts",
      "fixtures/tasks.ts",
      "../lib/pool.ts",
      new URL("file:///a/b.ts"),
      import.meta.resolve("./fixtures/tasks.ts"),
      "https://example.com/t.ts",
      "data:text/javascript,export function f() {}",
      "jsr:@std/assert",
      "npm:lodash",
      "/abs/with #hash?.ts",
    ], "create pool"),
    [
      `${here}fixtures/tasks.ts`,
      `${here}fixtures/tasks.ts`,
      new URL("../lib/pool.ts", here).href,
      "file:///a/b.ts",
      `${here}fixtures/tasks.ts`,
      "https://example.com/t.ts",
      "data:text/javascript,export function f() {}",
      "jsr:@std/assert",
      "npm:lodash",
      "file:///abs/with%20%23hash%3F.ts",
    ],
  );
  assert.equal(moduleUrls(["C:\\tasks\\a.ts"], "x")[0], "file:///C:/tasks/a.ts");
  assert.deepEqual(moduleUrls(undefined, "x"), []);
});

Deno.test("moduleUrls() refuses what is not a URL or a path", () => {
  assert.throws(() => moduleUrls("./a.ts", "create pool"), {
    name: "TypeError",
    message: `Cannot create pool: 'modules' must be an array of URLs or paths, received "./a.ts"`,
  });
  for (const bad of ["", 42, null]) {
    assert.throws(
      () => moduleUrls([bad], "create process"),
      /each of 'modules' must be a URL or a path/,
    );
  }
});

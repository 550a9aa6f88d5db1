// Where task functions may live: the `modules` option of Pool and Process.
//
// A relative path is resolved against the main module's URL, as an import in
// the main module would be, so a program finds its task modules from
// whatever directory it is run. Where there is no main module file (a
// program read from stdin or `deno eval`, whose main module is a made-up
// `$deno$...` URL), paths resolve against the current directory.

import { threadContext } from "./_context.ts";
import { describeValue } from "./_timeout.ts";

/** A URL scheme (`file:`, `https:`, `data:`, `jsr:`, `npm:`, ...), not a Windows drive letter. */
const SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/**
 * Resolves `modules` to URLs: URL objects and absolute URLs (also
 * `import.meta.resolve()` results) as they are, paths against the main
 * module (see the module comment).
 */
export function moduleUrls(modules: unknown, action: string): string[] {
  if (modules === undefined) return [];
  if (!Array.isArray(modules)) {
    throw new TypeError(
      `Cannot ${action}: 'modules' must be an array of URLs or paths, received ${
        describeValue(modules)
      }`,
    );
  }
  return modules.map((m) => {
    if (m instanceof URL) return m.href;
    if (typeof m !== "string" || m === "") {
      throw new TypeError(
        `Cannot ${action}: each of 'modules' must be a URL or a path, received ${describeValue(m)}`,
      );
    }
    if (SCHEME.test(m)) return m;
    const path = encodePath(m);
    // An absolute path names a file, whatever the main module's scheme.
    return new URL(path, path.startsWith("/") ? "file:///" : moduleBase()).href;
  });
}

/** What relative `modules` paths resolve against. */
export function moduleBase(): string {
  const main = threadContext().mainModule;
  if (main && !/\/\$deno\$[^/]*$/.test(main)) return main;
  const cwd = Deno.cwd().replaceAll("\\", "/");
  return `file://${encodePath(cwd)}/`;
}

/** A file path as a URL path: characters a URL would read otherwise are escaped. */
function encodePath(path: string): string {
  let p = path.replaceAll("\\", "/");
  // A Windows drive path ("C:/x") is absolute: in a URL it follows a slash.
  if (/^[a-z]:\//i.test(p)) p = `/${p}`;
  return p.replaceAll("%", "%25").replaceAll("#", "%23").replaceAll("?", "%3F");
}

// Where task functions may live: the `modules` option of Pool and Process.

/** Resolves `modules` to URLs: URLs as they are, paths against the current directory. */
export function moduleUrls(modules: (string | URL)[] | undefined, action: string): string[] {
  if (modules === undefined) return [];
  if (!Array.isArray(modules)) {
    throw new TypeError(`Cannot ${action}: 'modules' must be an array of URLs or paths`);
  }
  return modules.map((m) => {
    if (m instanceof URL) return m.href;
    if (typeof m !== "string") {
      throw new TypeError(
        `Cannot ${action}: each of 'modules' must be a URL or a path, received ${typeof m}`,
      );
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m;
    return new URL(m, `file://${Deno.cwd()}/`).href;
  });
}

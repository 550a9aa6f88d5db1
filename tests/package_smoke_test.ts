// The package as its users get it: served from somewhere else (here an HTTP
// server on 127.0.0.1, as JSR serves https://jsr.io/@dmp/multiprocessing/...),
// imported by name through the subpaths deno.json exports, and running a
// Pool and a daemon Process. Workers are started from inside the package, so
// their entry modules must resolve against wherever the package lives, not
// against the user's folder.
//
// The "./crawler" export is left out: it imports npm packages by bare name,
// which JSR rewrites to npm: specifiers at publish time and a plain HTTP
// server does not (tests/crawler_test.ts covers it in place).
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
const exports = Object.entries(config.exports as Record<string, string>)
  .filter(([subpath]) => subpath !== "./crawler");

const CONSUMER = `
import { Pool, currentProcess } from "@dmp/multiprocessing";
import { Queue } from "@dmp/multiprocessing/queues";
import { Process } from "@dmp/multiprocessing/process";

export function square(x: number): number {
  return x * x;
}

export async function report(q: Queue<string>): Promise<void> {
  await q.put(currentProcess().name);
}

if (import.meta.main) {
  for (const subpath of ${JSON.stringify(exports.map(([subpath]) => subpath.slice(1)))}) {
    await import("@dmp/multiprocessing" + subpath);
  }
  {
    await using pool = new Pool(2);
    console.log(JSON.stringify(await pool.map(square, [1, 2, 3])));
  }
  const q = new Queue<string>();
  const p = new Process({ target: report, args: [q], name: "smoke", daemon: true });
  p.start();
  console.log(await q.get());
  await p.join();
  console.log("exitcode", p.exitcode);
}
`;

Deno.test("the package, served over HTTP and imported through its exports, runs a Pool and a Process", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname.slice(1);
    if (!/^(mod\.ts|lib\/[\w.]+\.ts)$/.test(path)) {
      return new Response("not found", { status: 404 });
    }
    const body = await Deno.readFile(new URL(path, ROOT));
    return new Response(body, { headers: { "content-type": "application/typescript" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}/`;
  const dir = await Deno.makeTempDir();
  try {
    const imports = Object.fromEntries(
      exports.map(([subpath, file]) => [
        `@dmp/multiprocessing${subpath.slice(1)}`,
        new URL(file, base).href,
      ]),
    );
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports }));
    await Deno.writeTextFile(`${dir}/main.ts`, CONSUMER);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", `${dir}/main.ts`],
      cwd: dir,
      // A cache of its own: the modules come from this server, not from an earlier run.
      env: { DENO_DIR: `${dir}/cache`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const errors = new TextDecoder().decode(stderr).replace(/^Download .*\n/gm, "");
    assert.equal(errors, "");
    assert.equal(code, 0);
    assert.deepEqual(out.trim().split("\n"), ["[1,4,9]", "smoke", "exitcode 0"]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

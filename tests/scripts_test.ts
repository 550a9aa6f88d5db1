import assert from "node:assert/strict";

async function runScript(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = new URL(`./fixtures/${name}`, import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script.href],
    stdout: "piped",
    stderr: "piped",
    // A script that cannot exit fails the test instead of hanging it.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("Pool runs task functions exported from the main module, which then exits", async () => {
  const { code, stdout, stderr } = await runScript("main_module_script.ts");
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 4, stdout);
  assert.equal(lines[0], "[ 1, 8, 27 ]");
  // In the worker the main module is imported, not run: import.meta.main is false.
  assert.match(lines[1], /^PoolWorker-\d+ main=false$/);
  assert.equal(
    lines[2],
    "TypeError: Cannot run task: function 'nested' is not exported from " +
      new URL("./fixtures/main_module_script.ts", import.meta.url).href,
  );
  assert.equal(lines[3], "joined");
});

Deno.test("Pool.terminate() on the node backend stops a stuck task and the script exits", async () => {
  const { code, stdout, stderr } = await runScript("stuck_task_script.ts");
  assert.equal(code, 0, stderr);
  assert.equal(
    stdout.trim(),
    "pong\nstuck task: The pool was terminated before the task finished",
  );
});

Deno.test("Process: a non-daemon child keeps the program alive until it ends; a daemon does not", async () => {
  const { code, stdout, stderr } = await runScript("process_lifetime_script.ts");
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "main done\nnon-daemon child finished");
});

Deno.test("deno task demo crawls the generated site and prints the summary", async () => {
  const demo = new URL("../demo.ts", import.meta.url);
  const config = new URL("../deno.json", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config.pathname, demo.pathname],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  assert.match(err, /Crawl finished\.\n {2}pages +(\d+) \(ok \d+, failed 4\)/);
  assert.match(err, /robots\.txt +1 blocked/);
  const records = Number(/(\d+) records in/.exec(out)![1]);
  assert.ok(records >= 300, `${records} records`);
  assert.match(out, /"error":"redirect loop/);
});

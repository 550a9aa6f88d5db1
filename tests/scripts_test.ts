import assert from "node:assert/strict";

async function runScript(
  name: string,
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = new URL(`./fixtures/${name}`, import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script.href],
    cwd,
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

Deno.test("Pool.terminate() on the node backend with a task stuck in a loop lets the script exit", async () => {
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

Deno.test("Pool: two main-module functions first called at once on one worker both run", async () => {
  const { code, stdout, stderr } = await runScript("concurrent_lookup_script.ts");
  assert.equal(code, 0, stderr);
  assert.equal(stdout, "first,second\nsecond\n");
});

Deno.test("Pools and processes inside workers find main-module functions, at any depth", async () => {
  const { code, stdout, stderr } = await runScript("nested_script.ts");
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split("\n");
  assert.deepEqual(lines.length, 5, stdout);
  assert.equal(lines[0], "process exitcode 0");
  // A Pool in a Process in a Pool.
  assert.match(lines[1], /^PoolWorker-\d+ \(child of Process-\d+\) got 21$/);
  // A queue made there reaches the main thread through a queue.
  assert.match(lines[2], /^made in PoolWorker-\d+$/);
  // A Process in a Process.
  assert.equal(lines[3], "outer exitcode 0");
  assert.equal(lines[4], "inner ran in Inner, child of Outer");
});

Deno.test("Relative 'modules' paths resolve against the main module, from any directory", async () => {
  const { code, stdout, stderr } = await runScript(
    "relative_modules_script.ts",
    await Deno.makeTempDir(),
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "81");
});

Deno.test("Relative 'modules' paths of a program read from stdin resolve against the directory", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const program = `import { Pool } from "${mod}";
    const { square } = await import("./tests/fixtures/tasks.ts");
    await using pool = new Pool({ processes: 1, modules: ["./tests/fixtures/tasks.ts"] });
    console.log(await pool.apply(square, [5]));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "-"],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(program));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  assert.equal(code, 0, text.decode(stderr));
  assert.equal(text.decode(stdout).trim(), "25");
});

Deno.test("Web backend: terminate() of a task stuck in a loop warns once per pool and per process", async () => {
  const script = new URL("./fixtures/web_stuck_script.ts", import.meta.url);
  // The stuck workers keep the program alive for ever: read until it is done, then kill it.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script.href],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  let stdout = "";
  const decoder = new TextDecoder();
  const deadline = performance.now() + 60_000;
  for await (const chunk of child.stdout) {
    stdout += decoder.decode(chunk, { stream: true });
    if (stdout.includes("process exitcode") || performance.now() > deadline) break;
  }
  child.kill("SIGKILL");
  await child.status;
  const stderr = await stderrText;
  assert.equal(
    stdout,
    "pool terminated: The pool was terminated before the task finished\n" +
      "process exitcode -15\n",
  );
  const warnings = stderr.split("\n").filter((line) => line.startsWith("Warning:"));
  assert.equal(warnings.length, 2, stderr);
  assert.match(
    warnings[0],
    /^Warning: pool worker PoolWorker-\d+ \(pid \d+\) did not stop within 1 s of terminate\(\): task 'spin' seems stuck .* Use backend: "node" for tasks that may hang/,
  );
  assert.match(
    warnings[1],
    /^Warning: process Spinner \(pid \d+\) did not stop within 1 s of terminate\(\): its target 'spin' seems stuck .*backend: "node"/,
  );
});

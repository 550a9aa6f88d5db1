// examples/distributed_master.ts and examples/distributed_worker.ts, the
// tutorial's 分布式进程 pair, run as two OS processes on 127.0.0.1 as a user
// would run them on two machines: the master on a free port (0), then a
// worker pointed at it. (tests/examples_test.ts runs every other example
// alone; these two only work together.)
import assert from "node:assert/strict";

const EXAMPLES = new URL("../examples/", import.meta.url);

function start(name: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`${name}.ts`, EXAMPLES).pathname, ...args],
    env: { EXAMPLES_TIME_SCALE: "0.02", NO_COLOR: "1", MANAGER_HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Everything a reader has still to give, as text. */
async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

async function finish(
  child: Deno.ChildProcess,
  name: string,
  reader = child.stdout.getReader(),
  before = "",
): Promise<string[]> {
  const [status, out, err] = await Promise.all([
    child.status,
    rest(reader),
    new Response(child.stderr).text(),
  ]);
  const text = before + out;
  assert.equal(err, "", `${name} wrote to stderr`);
  assert.equal(status.code, 0, `${name} exited with ${status.code}; it printed:\n${text}`);
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("examples/distributed_master.ts and distributed_worker.ts: ten squares over the network", async () => {
  const master = start("distributed_master", ["0"]);
  // Read the master's output up to its port; the rest is read at the end.
  const reader = master.stdout.getReader();
  let head = "";
  while (!/Serving on port \d+/.test(head)) {
    const { value, done } = await reader.read();
    if (done) break;
    head += new TextDecoder().decode(value);
  }
  const port = head.match(/Serving on port (\d+)/)?.[1];
  assert.ok(port, `the master printed no port:\n${head}`);

  const worker = start("distributed_worker", ["127.0.0.1", port]);
  const [masterLines, workerLines] = await Promise.all([
    finish(master, "the master", reader, head),
    finish(worker, "the worker"),
  ]);

  const tasks = masterLines.flatMap((l) => l.match(/^Put task (\d+)\.\.\.$/)?.[1] ?? []);
  assert.equal(tasks.length, 10);
  const results = masterLines.filter((line) => line.startsWith("Result: "));
  assert.equal(results.length, 10);
  for (const line of results) {
    const [, n, square] = line.match(/^Result: (\d+) \* \1 = (\d+)$/) ?? [];
    assert.equal(Number(square), Number(n) ** 2, line);
    assert.ok(tasks.includes(n), line);
  }
  assert.equal(masterLines.at(-1), "master exit.");

  assert.equal(workerLines[0], "Connect to server 127.0.0.1...");
  assert.equal(workerLines.filter((l) => /^run task \d+ \* \d+\.\.\.$/.test(l)).length, 10);
  assert.equal(workerLines.at(-1), "worker exit.");
});

Deno.test("examples/distributed_worker.ts without a master fails with the reason", async () => {
  // A port nothing listens on: bind one, note it, close it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const worker = start("distributed_worker", ["127.0.0.1", String(port)]);
  const [status, , err] = await Promise.all([
    worker.status,
    rest(worker.stdout.getReader()),
    new Response(worker.stderr).text(),
  ]);
  assert.notEqual(status.code, 0);
  assert.match(err, new RegExp(`Cannot connect to 127.0.0.1:${port}: nothing listens there`));
});

import assert from "node:assert/strict";
import { active_children, activeChildren, Process, Queue } from "../mod.ts";
import * as ipc from "./fixtures/ipc_tasks.ts";
import * as edge from "./fixtures/edge_tasks.ts";

const modules = [new URL("./fixtures/ipc_tasks.ts", import.meta.url)];

Deno.test("Process runs its target; exitcode is null, then 0", async () => {
  const out = new Queue<{ name: string; pid: number }>();
  const p = new Process({ target: ipc.whoAmI, args: [out], name: "worker-a", modules });
  assert.equal(p.exitcode, null);
  assert.equal(p.pid, undefined);
  p.start();
  assert.ok(p.isAlive() && p.is_alive());
  assert.ok(activeChildren().includes(p) && active_children().includes(p));
  const seen = await out.get();
  await p.join();
  assert.deepEqual(seen, { name: "worker-a", pid: p.pid });
  assert.equal(p.exitcode, 0);
  assert.ok(!p.isAlive() && !activeChildren().includes(p));
  assert.throws(() => p.start(), /was started before/);
});

Deno.test("Process that throws ends with exitcode 1", async () => {
  const p = new Process({ target: ipc.throwInChild, modules });
  p.start();
  await p.join();
  assert.equal(p.exitcode, 1);
});

Deno.test("Process drops its target's return value, as Python does, even one that cannot be cloned", async () => {
  const p = new Process({ target: ipc.returnUncloneable, modules });
  p.start();
  await p.join();
  assert.equal(p.exitcode, 0);
});

Deno.test("Process.join(timeout) returns with the process still running; terminate() gives -15", async () => {
  const q = new Queue<string>();
  const ready = new Queue<string>();
  const p = new Process({ target: ipc.getForever, args: [q, ready], modules });
  p.start();
  await ready.get();
  const started = performance.now();
  await p.join(100);
  assert.ok(performance.now() - started >= 90);
  assert.equal(p.exitcode, null);
  p.terminate();
  await p.join();
  assert.equal(p.exitcode, -15);
});

Deno.test("Process.kill() of a target stuck in a loop on the node backend gives -9 and returns", async () => {
  const flag = new SharedArrayBuffer(4);
  const p = new Process({ target: ipc.spin, args: [flag], modules, backend: "node" });
  p.start();
  p.kill();
  await p.join();
  assert.equal(p.exitcode, -9);
  // Deno cannot interrupt the loop itself: let it end.
  Atomics.store(new Int32Array(flag), 0, 1);
});

Deno.test("Seed 000: a writer process then a reader process share a Queue", async () => {
  const q = new Queue<string>();
  const out = new Queue<string>();
  const pw = new Process({ target: ipc.write, args: [q], modules });
  const pr = new Process({ target: ipc.read, args: [q, out], modules });
  pw.start();
  await pw.join();
  pr.start();
  await pr.join();
  const lines = [];
  while (!out.empty()) lines.push(await out.get());
  assert.deepEqual(lines, ["Get A from queue.", "Get B from queue.", "Get C from queue."]);
});

Deno.test("Process validates its options", () => {
  assert.throws(() => new Process({ target: (() => 1) as never }), /arrow function/);
  assert.throws(
    () => new Process({ target: ipc.write, args: 1 as never }),
    /'args' must be an array/,
  );
  assert.throws(() => new Process(undefined as never), /expected options/);
  const p = new Process({ target: ipc.write, modules });
  assert.rejects(p.join(), /was not started/);
  p.daemon = true;
  assert.equal(p.daemon, true);
});

const edgeModules = [new URL("./fixtures/edge_tasks.ts", import.meta.url)];

for (const backend of ["web", "node"] as const) {
  Deno.test(`Process that calls Deno.exit(N) ends with exitcode N (${backend})`, async () => {
    for (const code of [7, 0]) {
      const p = new Process({ target: edge.exitWith, args: [code], modules: edgeModules, backend });
      p.start();
      await p.join();
      assert.equal(p.exitcode, code);
      assert.ok(!p.isAlive());
      assert.ok(!activeChildren().includes(p));
    }
  });
}

Deno.test("Process whose target throws a value that cannot be printed or cloned ends with exitcode 1", async () => {
  for (const kind of ["null-prototype", "throwing-toString", "undefined"]) {
    const p = new Process({ target: edge.throwValue, args: [kind], modules: edgeModules });
    p.start();
    await p.join();
    assert.equal(p.exitcode, 1, kind);
  }
});

Deno.test("Process.join() takes Infinity, null and huge timeouts; negative or NaN is a RangeError", async () => {
  const q = new Queue<string>();
  const ready = new Queue<string>();
  const p = new Process({ target: ipc.getForever, args: [q, ready], modules });
  p.start();
  await ready.get();
  await assert.rejects(p.join(-1), {
    name: "RangeError",
    message:
      /^Cannot join Process-\d+: 'timeout' must be a non-negative number of ms or Infinity, received -1$/,
  });
  await assert.rejects(p.join(NaN), RangeError);
  const joins = [p.join(Infinity), p.join(null), p.join(2 ** 31), p.join(2 ** 53)];
  let ended = false;
  Promise.all(joins).then(() => ended = true);
  // A timer of 2^31 ms or more fires at once: the joins would end now.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(ended, false);
  assert.equal(p.exitcode, null);
  p.terminate();
  await Promise.all(joins);
  assert.equal(p.exitcode, -15);
});

Deno.test("Process refuses unknown option names, suggesting the close match", () => {
  assert.throws(() => new Process({ target: ipc.write, arg: [] } as never), {
    name: "TypeError",
    message: "Cannot create process: unknown option 'arg'; did you mean 'args'?",
  });
  assert.throws(
    () => new Process({ target: ipc.write, deamon: true } as never),
    /did you mean 'daemon'/,
  );
});

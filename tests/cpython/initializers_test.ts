// CPython's TestInitializers (Lib/test/_test_multiprocessing.py), ported.
//
// Left out:
// - test_manager_initializer: a Manager here has no start(initializer, initargs); its server runs
//   on the main thread from the constructor on, with no process of its own to initialize.
import assert from "node:assert/strict";
import { Manager, Pool } from "../../mod.ts";
import * as tasks from "./_tasks.ts";
import { modules } from "./_helpers.ts";

Deno.test("TestInitializers.test_pool_initializer", async (t) => {
  // setUp
  const mgr = new Manager();
  const ns = mgr.namespace();
  await ns.set("test", 0);

  await t.step("initializer=1 is refused", () => {
    assert.throws(() => new Pool({ initializer: 1 as never }), TypeError);
  });

  await t.step({
    name: "Pool(1, initializer, (ns,)); close(); join() runs it once",
    async fn() {
      const p = new Pool({ processes: 1, initializer: tasks.initializer, initargs: [ns], modules });
      p.close();
      await p.join();
      assert.equal(await ns.get("test"), 1);
    },
  });

  // tearDown
  await mgr.shutdown();
});

// Runs every program in examples/ (the seed ports) as a user would, with
// `deno run -A`, and checks what it prints. The seeds sleep for seconds;
// EXAMPLES_TIME_SCALE runs them at a fraction of that pace. Checks hold for
// every interleaving the seeds allow (workers race), never for one in particular.
import assert from "node:assert/strict";
import { cpuCount } from "../mod.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);

interface Run {
  lines: string[];
  /** All output on one line, whitespace runs collapsed (console.log wraps long arrays). */
  flat: string;
}

async function run(name: string, scale: number): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`${name}.ts`, EXAMPLES).pathname],
    env: { EXAMPLES_TIME_SCALE: String(scale), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  // deno-lint-ignore no-control-regex
  const text = new TextDecoder().decode(stdout).replace(/\x1b\[[0-9;]*m/g, "");
  const errors = new TextDecoder().decode(stderr);
  assert.equal(errors, "", `${name} wrote to stderr`);
  assert.equal(code, 0, `${name} exited with ${code}; it printed:\n${text}`);
  const lines = text.split("\n").filter((line) => line !== "");
  return { lines, flat: text.replace(/\s+/g, " ").trim() };
}

const count = (lines: string[], pattern: RegExp) => lines.filter((l) => pattern.test(l)).length;
const matching = (lines: string[], pattern: RegExp) =>
  lines.flatMap((l) => l.match(pattern) ?? []).map((m) => m);
const pids = (lines: string[], pattern: RegExp) =>
  new Set(lines.flatMap((l) => [...l.matchAll(pattern)].map((m) => m[1])));
const SQUARES = "[ 0, 1, 4, 9, 16, 25, 36, 49, 64, 81 ]";

/** Put A/B/C then Get A/B/C (the seed 000 writer/reader ports). */
function checkWriteRead({ lines }: Run): void {
  assert.deepEqual(lines, [
    "Put A to queue...",
    "Put B to queue...",
    "Put C to queue...",
    "Get A from queue.",
    "Get B from queue.",
    "Get C from queue.",
    "所有数据都写入并且读完",
  ]);
}

/** Producer/consumer lines: every item produced once and eaten once. */
function checkEaten(lines: string[], items: string[]): void {
  const produced = matching(lines, /生产了 \S+$/).map((l) => l.slice(4));
  const eaten = matching(lines, /吃 \S+$/).map((l) => l.slice(2));
  assert.deepEqual(produced.toSorted(), items.toSorted());
  assert.deepEqual(eaten.toSorted(), items.toSorted());
}

const food = (names: string[], n: number) =>
  names.flatMap((f) => [...Array(n).keys()].map((i) => f + i));

const checks: Record<string, { scale?: number; check: (run: Run) => void }> = {
  // seed 000
  queue_fifo: {
    check: ({ lines }) =>
      assert.deepEqual(lines, [
        "qsize: 3 empty: false full: false",
        "yang",
        "4",
        '[ "yan", "xing" ]',
        "getNowait() on an empty queue raised Empty",
        "qsize: 0 empty: true full: false",
      ]),
  },
  process_run_proc: {
    check: ({ lines }) => {
      assert.equal(lines.length, 4);
      assert.match(lines[0], /^Parent process \d+\.$/);
      assert.equal(lines[1], "Process will start.");
      assert.match(lines[2], /^Run child process test \(\d+\)\.\.\.$/);
      assert.equal(lines[3], "Process end.");
    },
  },
  pool_long_time_task: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^Run task [0-4] \(\d+\)\.\.\.$/), 5);
      assert.equal(count(lines, /^Task [0-4] runs \d+\.\d\d seconds\.$/), 5);
      assert.ok(pids(lines, /^Run task \d \((\d+)\)/g).size <= cpuCount());
      assert.equal(lines.at(-1), "All subprocesses done.");
    },
  },
  process_queue_write_read: { check: checkWriteRead },
  pool_queue_without_manager: { check: checkWriteRead },
  pool_manager_queue: { check: checkWriteRead },
  pool_manager_queue_lock: { check: checkWriteRead },
  // seed 001
  queue_put_nowait_get_nowait: {
    check: ({ lines }) =>
      assert.deepEqual(lines, ["队列已经满了", "true", "3", "3", "3", "队列已经空了", "true"]),
  },
  process_queue_put_from_child: {
    check: ({ lines }) => {
      assert.equal(lines.length, 1);
      assert.match(
        lines[0],
        /^\[ "\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", "from Eva", "hello" \]$/,
      );
    },
  },
  queue_ten_putters_ten_getters: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^\d+\(get\):\d+\(put\):/), 10);
      assert.equal(pids(lines, /(\d+)\(put\)/g).size, 10, "each putter's item got once");
      assert.equal(pids(lines, /^(\d+)\(get\)/g).size, 10);
    },
  },
  producer_consumer_forever: {
    check: ({ lines }) => {
      assert.ok(
        lines.includes("the producer is done; the consumer is alive: true (stuck in q.get())"),
      );
      assert.equal(lines.at(-1), "the consumer ended by itself: exitcode 0");
      const split = lines.indexOf("-- the fix: the producer sends a sentinel");
      // The stuck consumer is stopped after a timeout: on a loaded machine it may
      // not have printed its last bun by then.
      const problem = lines.slice(0, split);
      assert.equal(count(problem, /生产了 包子\d$/), 10);
      assert.ok(count(problem, /吃 包子\d$/) >= 9);
      checkEaten(lines.slice(split), food(["包子"], 10));
    },
  },
  producer_consumer_sentinel: {
    check: ({ lines }) => {
      assert.equal(lines[0], "主");
      checkEaten(lines, food(["包子"], 10));
    },
  },
  producer_consumer_main_sends_sentinel: {
    check: ({ lines }) => {
      checkEaten(lines, food(["包子"], 2));
      assert.ok(lines.indexOf("主") > lines.findLastIndex((l) => l.includes("生产了")));
    },
  },
  producers_consumers_sentinel_per_consumer: {
    check: ({ lines }) => {
      checkEaten(lines, food(["包子", "骨头", "泔水"], 2));
      assert.ok(lines.indexOf("主") > lines.findLastIndex((l) => l.includes("生产了")));
      assert.equal(pids(lines, /^(\d+) 吃/g).size <= 2, true);
    },
  },
  joinable_queue_producers_consumers: {
    check: ({ lines }) => {
      checkEaten(lines, food(["包子", "骨头", "泔水"], 10));
      assert.equal(lines.at(-1), "主");
    },
  },
  pipe_hello: { check: ({ lines }) => assert.deepEqual(lines, ["Hello The_Third_Wave"]) },
  pipe_eof: {
    check: ({ lines }) =>
      assert.deepEqual(lines, ["hello", "EOFError: every copy of the other end is closed"]),
  },
  pipe_producer_consumer: {
    check: ({ lines }) =>
      assert.deepEqual(lines, [...[...Array(10).keys()].map((i) => `c1 收到包子:${i}`), "主进程"]),
  },
  pipe_consumers_lock: {
    check: ({ lines }) => {
      // 0 reads as the end signal (as in Python): 1..9 are eaten, each once.
      const got = matching(lines, /收到包子:\d+$/).map((l) => Number(l.split(":")[1]));
      assert.deepEqual(got.toSorted((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(lines.at(-1), "主进程");
    },
  },
  manager_dict_counter: { check: ({ lines }) => assert.deepEqual(lines, ["{ count: 0 }"]) },
  pool_apply_sync: {
    check: ({ lines, flat }) => {
      assert.equal(count(lines, /^\d+ run$/), 10);
      assert.ok(flat.endsWith(SQUARES));
    },
  },
  pool_apply_async: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^\d+ run$/), 10);
      assert.ok(pids(lines, /^(\d+) run$/g).size <= 3);
      assert.deepEqual(lines.slice(10), ["0", "1", "4", "9", "16", "25", "36", "49", "64", "81"]);
    },
  },
  pool_socket_server: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^进程pid: \d+$/), 6, "one talk() per client");
      assert.ok(pids(lines, /^进程pid: (\d+)$/g).size <= 4, "four workers at most");
      for (let c = 1; c <= 6; c++) {
        for (let i = 1; i <= 3; i++) {
          assert.ok(lines.includes(`client${c} got: CLIENT${c} SAYS HELLO ${i}`));
        }
      }
      assert.equal(lines.at(-1), "all clients served; server closed");
    },
  },
  pool_apply_async_callback: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^<进程\d+> get http:\/\/127\.0\.0\.1:\d+\/[0-4]$/), 5);
      assert.equal(count(lines, /^<进程\d+> parse http:\/\/127\.0\.0\.1:\d+\/[0-4]$/), 5);
      const parsers = pids(lines, /^<进程(\d+)> parse/g);
      assert.equal(parsers.size, 1, "callbacks run on the main process");
      assert.ok(!pids(lines, /^<进程(\d+)> get/g).has([...parsers][0]));
      assert.equal(count(lines, /^url:<http:\/\/127\.0\.0\.1:\d+\/[0-4]> size:\[\d+\]$/), 5);
    },
  },
  pool_crawler_regex: {
    check: ({ flat }) => {
      for (const [i, title] of [[1, "霸王别姬"], [2, "肖申克的救赎"], [3, "罗马假日"]]) {
        assert.ok(flat.includes(`index: "${i}", title: "${title}"`), `movie ${i}`);
      }
      assert.ok(flat.includes('time: "上映时间：1993-01-01"'));
    },
  },
  pool_results_without_callback: { check: ({ flat }) => assert.equal(flat, SQUARES) },
  // seed 002
  process_worker: { check: ({ lines }) => assert.deepEqual(lines, ["Worker"]) },
  process_args_kwargs: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^giao吃一口……$/), 3);
      assert.equal(count(lines, /^giao喝一口……$/), 4);
    },
  },
  process_daemon: {
    scale: 0.2,
    check: ({ lines }) => {
      // Not necessarily the last line: the child eats every 0.1 s here, and
      // one of its lines may come out while the program ends (as in Python).
      assert.ok(lines.includes("我吃饱了……"));
      assert.ok(count(lines, /^我吃我吃……$/) < 10, "the daemon ends with the main process");
    },
  },
  pool_map: {
    check: ({ lines }) => {
      const done = matching(lines, /^Worker \d+/).map((l) => Number(l.slice(7)));
      assert.deepEqual(done.toSorted((a, b) => a - b), [...Array(10).keys()]);
      assert.ok(pids(lines, /进程id为 (\d+)$/g).size <= 4);
    },
  },
  pool_cpu_count: {
    check: ({ lines }) => {
      assert.equal(lines[0], `cpu_count() = ${cpuCount()}`);
      assert.equal(count(lines, /^task [0-3] ran on worker \d+$/), 4);
    },
  },
  pool_map_multiple_args: {
    check: ({ lines, flat }) => {
      assert.equal(count(lines, /^Worker ([1-3]) \(\1\) , 进程id为 \d+$/), 3);
      assert.ok(lines.some((l) => /^TypeError: Cannot submit task: an anonymous function/.test(l)));
      assert.ok(flat.endsWith(
        "[ [ -5, 5 ], [ -2, 6 ], [ 1, 7 ], [ 4, 8 ], [ 7, 9 ], [ 10, 10 ], [ 13, 11 ], " +
          "[ 16, 12 ], [ 19, 13 ], [ 22, 14 ] ]",
      ));
    },
  },
  // seed 003
  process_start: {
    check: ({ lines }) => assert.deepEqual(lines, ["主", "小王 is running", "小王 is done"]),
  },
  process_join: {
    check: ({ lines }) => {
      for (const i of [1, 2, 3]) {
        assert.ok(lines.indexOf(`小王${i} is running`) < lines.indexOf(`小王${i} is done`));
      }
      assert.equal(lines.length, 7);
      const [label, seconds] = lines[6].split(" ");
      assert.equal(label, "主");
      assert.ok(Number(seconds) >= 2.9, `the longest child sleeps 3 s; joined after ${seconds}`);
    },
  },
  process_memory_isolation: { check: ({ lines }) => assert.deepEqual(lines, ["100"]) },
  process_current_process: {
    check: ({ lines }) => {
      assert.match(lines[0], /^主 \d+$/);
      const child = lines[1].split(" ")[0];
      assert.deepEqual(lines.slice(1), [`${child} is running`, `${child} is done`]);
    },
  },
  process_pid_ppid: {
    check: ({ lines }) => {
      const [, mainPid] = lines[0].match(/^主(\d+)爹是\d+$/)!;
      assert.match(lines[1], new RegExp(`^\\d+ is running 爹是${mainPid}$`));
      assert.match(lines[2], new RegExp(`^\\d+ is done爹是${mainPid}$`));
    },
  },
  process_terminate_is_alive: {
    check: ({ lines }) => {
      assert.deepEqual(lines.slice(0, 3), ["Process-1", "false", "exitcode -15"]);
      assert.equal(count(lines, /is done/), 0);
    },
  },
  process_daemon_dies_with_main: {
    scale: 0.2,
    check: ({ lines }) => {
      assert.equal(lines.at(-1), "皇帝正在死亡");
      assert.equal(count(lines, /正常死亡/), 0);
    },
  },
  lock_ticket_purchase: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^路人\d 查看到余票为 [01]$/), 10);
      assert.equal(count(lines, /^路人\d 购票成功$/), 1, "one ticket, sold once");
      assert.equal(count(lines, /^路人\d 查看到没有票了$/), 9);
      assert.equal(lines.at(-1), 'db.json: {"count":0}');
    },
  },
  queue_blocks_when_empty: {
    check: ({ lines }) =>
      assert.deepEqual(lines, [
        "篮子满了",
        "a",
        "b",
        "{ x: 2 }",
        "队列为空",
        "get() waited 3 s for an item and gave up: Empty",
      ]),
  },
  joinable_queue_cooks_eaters: {
    check: ({ lines }) => {
      const dishes = food(["包子", "土豆丝"], 10).toSorted();
      assert.deepEqual(matching(lines, /生成了\S+$/).map((l) => l.slice(3)).toSorted(), dishes);
      assert.deepEqual(matching(lines, /吃了\S+$/).map((l) => l.slice(2)).toSorted(), dishes);
      assert.equal(lines.at(-1), "主");
    },
  },
  // seed 004
  manager_dict_list: {
    check: ({ flat }) =>
      assert.equal(
        flat,
        '{ key1: "val1", key2: "val2", key3: "val3", key4: "val4", key5: "val5" } ' +
          "[ 11, 12, 13, 14, 15 ]",
      ),
  },
  pool_apply_async_nonblocking: {
    check: ({ lines }) => {
      let running = 0;
      let most = 0;
      for (const line of lines.slice(0, -1)) {
        running += line.includes("start") ? 1 : -1;
        most = Math.max(most, running);
      }
      assert.equal(count(lines, /^#######start hello[1-9]########$/), 9);
      assert.equal(count(lines, /^#######end {3}hello[1-9]########$/), 9);
      assert.ok(most <= 3, `at most 3 tasks at once; saw ${most}`);
      assert.equal(lines.at(-1), "main end");
    },
  },
  pool_apply_blocking: {
    check: ({ lines }) =>
      assert.deepEqual(lines, [
        ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) => [
          `#######start hello${i}########`,
          `#######end   hello${i}########`,
        ]),
        "main end",
      ]),
  },
  // the Pool tour (deno task demo:pool), not a seed port
  pool_showcase: {
    check: ({ lines }) => {
      assert.equal(count(lines, /^Task [0-4] runs /), 5);
      assert.ok(lines.some((l) => /^countPrimes x8: serial \d+ ms/.test(l)));
    },
  },
};

// A master and its workers only run together, as OS processes: tests/net_examples_test.ts.
const RUN_ELSEWHERE = ["distributed_master.ts", "distributed_worker.ts"];

Deno.test("examples/: every program has a check here", () => {
  const programs = [...Deno.readDirSync(EXAMPLES)]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith(".ts") && !name.startsWith("_"))
    .filter((name) => !RUN_ELSEWHERE.includes(name))
    .map((name) => name.slice(0, -3));
  assert.deepEqual(programs.toSorted(), Object.keys(checks).toSorted());
});

for (const [name, { scale, check }] of Object.entries(checks)) {
  Deno.test(`examples/${name}.ts`, async () => check(await run(name, scale ?? 0.02)));
}

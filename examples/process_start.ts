// Port of seed 003 (003_392ab84c41d69be6.txt), "开启一个进程": start() only asks
// for the child to be started and returns at once, so the main process prints
// 主 first. Starting children belongs under `if (import.meta.main)` (Python's
// `if __name__ == '__main__'`): the child imports this module and must not
// start children of its own.
//
//   deno run -A examples/process_start.ts
import { Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function task(name: string): Promise<void> {
  console.log(`${name} is running`);
  await sleep(3);
  console.log(`${name} is done`);
}

if (import.meta.main) {
  const p = new Process({ target: task, args: ["小王"] });
  // const p = new Process({ target: task, args: [{ name: "小王" }] }); // kwargs: one object
  p.start(); // only a request to start the child: the main process goes on
  console.log("主");
}

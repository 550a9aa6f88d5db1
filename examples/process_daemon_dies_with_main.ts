// Port of seed 003 (003_392ab84c41d69be6.txt), "守护进程": a daemon lives at most
// as long as the process that started it. The child would sleep 3 seconds;
// the main process ends after 1, and the daemon never reaches 正常死亡.
//
//   deno run -A examples/process_daemon_dies_with_main.ts
import { Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function task(name: string): Promise<void> {
  console.log(`${name}活着`);
  await sleep(3);
  console.log(`${name}正常死亡`);
}

if (import.meta.main) {
  const p1 = new Process({ target: task, args: ["老太监"] });
  p1.daemon = true; // a daemon: it dies with the main process
  p1.start();
  await sleep(1);
  console.log("皇帝正在死亡");
}

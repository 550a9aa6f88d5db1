// Port of seed 002 (002_adea0d9c76b1c04f.txt), "设置子进程守护": a daemon child
// ends when the main process ends. The child would eat ten times, half a
// second apart; the main process is full after one second and ends, and the
// daemon with it.
//
//   deno run -A examples/process_daemon.ts
import { Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function eat(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    console.log("我吃我吃……");
    await sleep(0.5);
  }
}

if (import.meta.main) {
  const eatProcess = new Process({ target: eat });
  eatProcess.daemon = true; // the child ends with the main process
  eatProcess.start();
  await sleep(1);
  console.log("我吃饱了……");
}

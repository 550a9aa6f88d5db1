// Port of seed 002 (002_adea0d9c76b1c04f.txt), "带参调用": arguments for the
// target, by position (args) and by name (kwargs). JavaScript has no keyword
// arguments; the idiom is one object parameter, destructured, so kwargs={...}
// becomes args: [{...}].
//
//   deno run -A examples/process_args_kwargs.ts
import { Process } from "../mod.ts";
import { sleep } from "./_time.ts";

export async function eat(num: number, name: string): Promise<void> {
  for (let i = 0; i < num; i++) {
    console.log(name + "吃一口……");
    await sleep(1);
  }
}

export async function drink({ num, name }: { num: number; name: string }): Promise<void> {
  for (let i = 0; i < num; i++) {
    console.log(name + "喝一口……");
    await sleep(1);
  }
}

if (import.meta.main) {
  // target: the function to run; args: its arguments by position
  const eatProcess = new Process({ target: eat, args: [3, "giao"] });
  // kwargs={"num": 4, "name": "giao"}: one object argument
  const drinkProcess = new Process({ target: drink, args: [{ num: 4, name: "giao" }] });
  eatProcess.start();
  drinkProcess.start();
}

// Port of seed 002 (002_adea0d9c76b1c04f.txt), "进程执行方法需要多个参数": Pool.map
// passes one item per call, so a worker of two parameters needs help.
//   1. The seed's fix 1, a one-parameter wrapper (worker2) that unpacks a pair.
//   2. The lambda the seed tries next: Python cannot pickle it. Here a
//      function that is not exported cannot go to a worker either, and the
//      pool says so (TypeError) at the call, naming the function.
//   3. The seed's fix 2, pathos' map(f, xs, ys) over several iterables: here
//      starmap() over the zipped lists (as Python's own Pool.starmap).
//
//   deno run -A examples/pool_map_multiple_args.ts
import { currentProcess, Pool } from "../mod.ts";

export function worker(num: number, num2: number): string {
  return `Worker ${num} (${num2}) , 进程id为 ${currentProcess().pid}`;
}

// Fix 1: one parameter, a list, unpacked for worker.
export function worker2(s: [number, number]): string {
  return worker(s[0], s[1]);
}

export function addAndSubtract(x: number, y: number): [number, number] {
  return [x + y, x - y];
}

/** Python's zip(). */
function zip<A, B>(xs: A[], ys: B[]): [A, B][] {
  return xs.slice(0, Math.min(xs.length, ys.length)).map((x, i) => [x, ys[i]]);
}

function range(start: number, stop: number, step = 1): number[] {
  return Array.from({ length: Math.ceil((stop - start) / step) }, (_, i) => start + i * step);
}

if (import.meta.main) {
  await using pool = new Pool(2);
  const dataList: [number, number][] = [[1, 1], [2, 2], [3, 3]];

  console.log("1. map over pairs with a wrapper:");
  for (const line of await pool.map(worker2, dataList)) console.log(line);

  console.log("2. map with an arrow function (Python: a lambda):");
  try {
    await pool.map((x: [number, number]) => worker(x[0], x[1]), dataList);
  } catch (error) {
    console.log(`${(error as Error).name}: ${(error as Error).message}`);
  }

  console.log("3. several iterables (pathos' map): starmap over zip:");
  const res = await pool.starmap(addAndSubtract, zip(range(0, 20, 2), range(-5, 5, 1)));
  console.log(res);
}

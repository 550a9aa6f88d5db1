// Port of seed 002 (002_adea0d9c76b1c04f.txt), "cpu_count()": a Pool as large as
// the machine has CPU cores (also what `new Pool()` does by default).
//
//   deno run -A examples/pool_cpu_count.ts
import { cpuCount, currentProcess, Pool } from "../mod.ts";

export function whoRuns(n: number): string {
  return `task ${n} ran on worker ${currentProcess().pid}`;
}

if (import.meta.main) {
  const cpus = cpuCount();
  console.log(`cpu_count() = ${cpus}`);
  const pool = new Pool(cpus);
  for (const line of await pool.map(whoRuns, [0, 1, 2, 3])) console.log(line);
  pool.close();
  await pool.join();
}

// piscina tasks of the pool-control workloads (named exports, run with { name }).
import { move as moved } from "piscina";
export function inc(x) {
  return x + 1;
}

/** Says it runs (cell 0), then never settles: piscina stops it by terminating its thread. */
export function waitForever(flag) {
  const cells = new Int32Array(flag);
  Atomics.store(cells, 0, 1);
  Atomics.notify(cells, 0);
  return new Promise(() => {});
}

/** Returns once `count` tasks run at once (cell 0 counts them). */
export async function together({ flag, count }) {
  const cells = new Int32Array(flag);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  for (let n = Atomics.load(cells, 0); n < count; n = Atomics.load(cells, 0)) {
    const wait = Atomics.waitAsync(cells, 0, n, 1000);
    if (wait.async) await wait.value;
  }
  return count;
}

/** Changes the buffer's first byte and sends it back, moved when it came moved. */
export function bounce({ bytes, move }) {
  bytes[0]++;
  return move ? moved(bytes) : bytes;
}

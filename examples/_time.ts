// Python's time.sleep, time.time, time.asctime and random.randint for the
// seed ports, so their bodies read like the Python they port.
//
// The seeds sleep for seconds at a time. EXAMPLES_TIME_SCALE shrinks every
// sleep (tests/examples_test.ts runs the examples at 1/50 of the seeds' pace);
// by default the examples keep the seeds' timing.

const scale = Number(Deno.env.get("EXAMPLES_TIME_SCALE") ?? "1");
if (!(scale >= 0)) {
  throw new RangeError(`EXAMPLES_TIME_SCALE must be a number >= 0, got ${scale}`);
}

/** `time.sleep(seconds)`: resolves after that many (scaled) seconds. */
export function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000 * scale));
}

/** `time.time()`: seconds since the epoch, divided by the scale so that durations read as in the seed. */
export function time(): number {
  return Date.now() / 1000 / (scale || 1);
}

/** `time.asctime()`: e.g. "Sun Nov 22 04:31:55 2026". */
export function asctime(date: Date = new Date()): string {
  const [day, month, dayOfMonth, year, clock] = date.toString().split(" ");
  return `${day} ${month} ${dayOfMonth.padStart(2, " ")} ${clock} ${year}`;
}

/** `random.randint(a, b)`: an integer in [a, b], both ends included. */
export function randint(a: number, b: number): number {
  return a + Math.floor(Math.random() * (b - a + 1));
}

/** Milliseconds for a (scaled) number of seconds, for timeouts such as `join(ms(4))`. */
export function ms(seconds: number): number {
  return seconds * 1000 * scale;
}

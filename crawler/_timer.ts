// Timers that cannot overflow. setTimeout stores its delay as a signed 32-bit
// integer: a delay of 2^31 ms or more fires after 1 ms (with a
// TimeoutOverflowWarning), so an unchecked huge delay turns a wait into a busy
// loop. Every timer of the crawler goes through here.

/** The longest delay a timer takes: 2^31 - 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` clamped to what a timer takes: NaN and negatives become 0, the rest at most MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

/** setTimeout with the delay clamped by {@linkcode timerDelay}. */
export function setSafeTimeout(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(callback, timerDelay(ms));
}

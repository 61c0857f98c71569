/**
 * Browser-safe: imports nothing.
 *
 * Node's (and browsers') timers take at most 2^31 - 1 ms, about 24.8 days,
 * and fire at once beyond it: a longer timeout would end a call at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether a duration in ms can be a timer's: at most MAX_TIMER_MS, or Infinity for none. */
export function fitsTimer(ms: number): boolean {
  return ms <= MAX_TIMER_MS || ms === Infinity;
}

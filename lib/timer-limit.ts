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

/**
 * Why a call's `timeout` option cannot be used (plain JavaScript may pass anything); undefined when it can,
 * or when it is not given.
 * `Infinity` means no timeout where the caller allows it (the pool; the browser client does not).
 */
export function timeoutRefusal(timeout: unknown, infinite: boolean): string | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout === 'number' && timeout > 0 && (timeout <= MAX_TIMER_MS || (infinite && timeout === Infinity))) return undefined;
  return `timeout must be a positive number of milliseconds, at most ${MAX_TIMER_MS} (about 24.8 days), got ${typeof timeout === 'number' || typeof timeout === 'string' ? timeout : typeof timeout}`;
}

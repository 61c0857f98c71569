/**
 * Why `callback` cannot be `executeStream`'s callback, or undefined when it
 * can: plain JavaScript may pass anything, and a call made without one would
 * run the tool and fail at its first chunk with a TypeError.
 */
export function callbackRefusal(callback: unknown): string | undefined {
  if (typeof callback === 'function') return undefined;
  return `executeStream needs a callback, a function of each chunk, got ${callback === null ? 'null' : typeof callback}`;
}

import { takeWhile, type MonoTypeOperatorFunction } from 'rxjs';
import type { Chunk } from '../chunk.js';

/**
 * Mirrors the source up to and including the final chunk, then completes and
 * unsubscribes from the source.
 *
 * ```
 * source:  --a----b----Z----c--|      Z: final chunk
 *          takeUntilFinal()
 * output:  --a----b----(Z|)
 * ```
 *
 * For a source that may not complete on its own after its final chunk — a
 * Subject that relays several calls, or a stream that has been `share`d — and
 * so that `toArray`, `last` or `lastValueFrom` can settle at the final chunk.
 *
 * @example
 * ```ts
 * const lastChunk = await lastValueFrom(chunks$.pipe(takeUntilFinal()));
 * ```
 */
export function takeUntilFinal<T>(): MonoTypeOperatorFunction<Chunk<T>> {
  return takeWhile((chunk) => !chunk.isFinal, true);
}

import { toArray, type OperatorFunction } from 'rxjs';
import type { Chunk } from '../chunk.js';
import { takeUntilFinal } from './take-until-final.js';

/**
 * Gathers a whole stream into one array, emitted when the final chunk arrives
 * (or when the source completes, if it comes first). Named after RxJS's
 * `toArray`, which it is, made to stop at the final chunk.
 *
 * ```
 * source:  --a----b----Z--
 *          toChunkArray()
 * output:  ------------(x|)      x = [a, b, Z]
 * ```
 *
 * The final chunk is kept, synthetic or not: its metadata carries
 * `execution_time_ms` and `worker_id`. An empty source gives `[]`; an error
 * is passed on and the chunks gathered so far are dropped, as `toArray` does
 * (use {@link batchChunks} to receive them before the error).
 *
 * @example
 * ```ts
 * const chunks = await firstValueFrom(chunks$.pipe(toChunkArray()));
 * ```
 */
export function toChunkArray<T>(): OperatorFunction<Chunk<T>, Chunk<T>[]> {
  return (source) => source.pipe(takeUntilFinal(), toArray());
}

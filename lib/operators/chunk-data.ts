import { filter, map, type OperatorFunction } from 'rxjs';
import { isSyntheticFinal, type Chunk } from '../chunk.js';

/**
 * Maps each chunk to its payload, dropping a synthetic final chunk: the pool
 * adds that one only to mark the end, and its `null` is no value of `T`.
 *
 * ```
 * source:  --a----b----S|      S: synthetic final chunk
 *          chunkData()
 * output:  --A----B-----|      A = a.data, B = b.data
 * ```
 *
 * A final chunk that the tool marked itself carries a payload, which is
 * emitted like any other.
 *
 * @example
 * ```ts
 * chunks$.pipe(chunkData()).subscribe(({ epoch, loss }) => console.log(epoch, loss));
 * ```
 */
export function chunkData<T>(): OperatorFunction<Chunk<T>, T> {
  return (source) =>
    source.pipe(
      filter((chunk) => !isSyntheticFinal(chunk)),
      map((chunk) => chunk.data),
    );
}

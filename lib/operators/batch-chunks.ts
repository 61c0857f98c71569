import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Chunk } from '../chunk.js';
import { estimatePayloadBytes } from './payload-bytes.js';

/** Options of {@link batchChunks}: a batch is emitted when the first limit is reached. */
export interface BatchChunksOptions {
  /** Emit a batch once it holds this many chunks. A positive integer. */
  readonly maxCount?: number;
  /**
   * Emit a batch once this many ms have passed since its first chunk.
   * A finite number >= 0; `0` gathers the chunks that arrive in one turn.
   */
  readonly maxWait?: number;
  /** @deprecated Renamed `maxWait` (durations are in ms without saying so, as in Node); still accepted. */
  readonly maxWaitMs?: number;
  /**
   * Emit a batch once its payload reaches this many bytes, as estimated by
   * {@link estimatePayloadBytes}. A chunk that would take the batch past it
   * starts a new batch, so a batch is larger only when one chunk alone is.
   * A positive number.
   */
  readonly maxBytes?: number;
  /** Times `maxWait`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Gathers chunks into arrays, to handle a fast stream a batch at a time
 * (one DOM update, one database write, one websocket frame per batch).
 *
 * ```
 * source:  -a-b-c----d-e---------f-Z|      Z: final chunk
 *          batchChunks({ maxCount: 3, maxWait: 5 })
 * output:  -----x---------y--------z|
 *
 * x = [a, b, c]: 3 chunks   y = [d, e]: 5 ms after d   z = [f, Z]: final chunk
 * ```
 *
 * A batch is emitted when it reaches `maxCount` chunks, when it reaches
 * `maxBytes` of payload, when `maxWait` has passed since its first chunk,
 * when the final chunk arrives (it is the last of its batch), and when the
 * source completes. No batch is ever empty. On error the pending batch is
 * emitted first, then the error: nothing is lost. Unsubscribing drops the
 * pending batch and clears its timer.
 *
 * At least one of `maxCount`, `maxWait`, `maxBytes` is required, since
 * without a limit the whole stream would pile up in memory; use
 * {@link toChunkArray} when that is what you want. Invalid options throw a
 * `TypeError` when the operator is created, not when the stream runs.
 * Payload sizes are estimated only when `maxBytes` is set.
 *
 * @example
 * ```ts
 * rows$.pipe(batchChunks({ maxCount: 500, maxWait: 50 }))
 *   .subscribe((batch) => table.append(batch.map((chunk) => chunk.data)));
 * ```
 */
export function batchChunks<T>(options: BatchChunksOptions): OperatorFunction<Chunk<T>, Chunk<T>[]> {
  const { maxCount = Infinity, maxBytes = Infinity, scheduler = asyncScheduler } = options;
  if (options.maxWait !== undefined && options.maxWaitMs !== undefined) {
    throw new TypeError('batchChunks: give maxWait or its deprecated alias maxWaitMs, not both');
  }
  const maxWait = options.maxWait ?? options.maxWaitMs;
  if (options.maxCount === undefined && maxWait === undefined && options.maxBytes === undefined) {
    throw new TypeError('batchChunks: give at least one of maxCount, maxWait, maxBytes (toChunkArray() gathers a whole stream)');
  }
  if (options.maxCount !== undefined && !(Number.isInteger(maxCount) && maxCount >= 1)) {
    throw new TypeError(`batchChunks: maxCount must be an integer >= 1, got ${String(maxCount)}`);
  }
  if (maxWait !== undefined && !(Number.isFinite(maxWait) && maxWait >= 0)) {
    throw new TypeError(`batchChunks: maxWait must be a finite number >= 0, got ${String(maxWait)}`);
  }
  if (options.maxBytes !== undefined && !(Number.isFinite(maxBytes) && maxBytes > 0)) {
    throw new TypeError(`batchChunks: maxBytes must be a finite number > 0, got ${String(maxBytes)}`);
  }
  const measure = options.maxBytes !== undefined;

  return (source) =>
    new Observable<Chunk<T>[]>((subscriber) => {
      let batch: Chunk<T>[] = [];
      let bytes = 0;
      let timer: Subscription | undefined;
      // Batches are queued and delivered by one loop, and state is settled
      // before any delivery: a consumer that makes the source emit while it
      // handles a batch (a Subject fed back) then neither reorders chunks nor
      // sees batches out of order, and does not grow the stack.
      const ready: Chunk<T>[][] = [];
      let end: (() => void) | undefined;
      let delivering = false;

      const close = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (batch.length === 0) return;
        ready.push(batch);
        batch = [];
        bytes = 0;
      };
      const deliver = (): void => {
        if (delivering) return;
        delivering = true;
        for (let next = ready.shift(); next !== undefined; next = ready.shift()) subscriber.next(next);
        end?.();
        delivering = false;
      };

      const subscription = source.subscribe({
        next: (chunk) => {
          const size = measure ? estimatePayloadBytes(chunk.data) : 0;
          if (batch.length > 0 && bytes + size > maxBytes) close();
          batch.push(chunk);
          bytes += size;
          if (chunk.isFinal || batch.length >= maxCount || bytes >= maxBytes) {
            close();
          } else if (batch.length === 1 && maxWait !== undefined) {
            timer = scheduler.schedule(() => {
              close();
              deliver();
            }, maxWait);
          }
          deliver();
        },
        error: (error: unknown) => {
          close();
          end = () => subscriber.error(error);
          deliver();
        },
        complete: () => {
          close();
          end = () => subscriber.complete();
          deliver();
        },
      });

      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}

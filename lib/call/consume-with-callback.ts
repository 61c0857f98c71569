import type { Observable, Subscription } from 'rxjs';
import type { Chunk } from '../chunk.js';
import { FlowControl } from './flow-control.js';
import type { ChunkCallback } from '../public-types.js';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Subscribes to a stream and calls `callback` for each chunk, in order.
 * Resolves when the stream completes; rejects with the stream's error, or
 * with the callback's own error (which cancels the stream).
 */
export function consumeWithCallback<T>(stream: (flow: FlowControl) => Observable<Chunk<T>>, callback: ChunkCallback<T>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const flow = new FlowControl();
    // eslint-disable-next-line prefer-const -- failWith may run before the assignment, while subscribe() runs.
    let subscription: Subscription | undefined;
    let failed = false;
    const failWith = (error: unknown) => {
      if (failed) return;
      failed = true;
      subscription?.unsubscribe();
      reject(error);
    };
    subscription = stream(flow).subscribe({
      next(chunk) {
        // The callback's thenable is user code too: a `then` that throws would otherwise escape into RxJS,
        // which rethrows it out of reach as an uncaught exception, and this promise would never settle.
        try {
          const result = callback(chunk);
          if (isPromiseLike(result)) {
            flow.pause();
            result.then(() => flow.resume(), failWith);
          }
        } catch (error) {
          failWith(error);
        }
      },
      error: failWith,
      complete: resolve,
    });
    if (failed) subscription.unsubscribe();
  });
}

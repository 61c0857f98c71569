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
        let result: unknown;
        try {
          result = callback(chunk);
        } catch (error) {
          failWith(error);
          return;
        }
        if (isPromiseLike(result)) {
          flow.pause();
          result.then(() => flow.resume(), failWith);
        }
      },
      error: failWith,
      complete: resolve,
    });
    if (failed) subscription.unsubscribe();
  });
}

import type { Observable } from 'rxjs';
import type { Chunk } from 'snakepit-rx';

/** Subscribes and resolves on completion, handing every chunk that carries data to `next`. */
export function drain<T>(stream: Observable<Chunk<T | null>>, next: (data: T) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.subscribe({
      next: (chunk) => {
        // The synthetic final chunk carries no data.
        if (chunk.data !== null) next(chunk.data);
      },
      error: reject,
      complete: resolve,
    });
  });
}

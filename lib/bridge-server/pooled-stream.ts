import type { Chunk } from '../chunk.js';

/** What one pull from the pool's stream gives. */
export type Pulled =
  | { readonly kind: 'chunk'; readonly chunk: Chunk }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'done' }
  | { readonly kind: 'cancelled' };

/**
 * The pool's pull-based stream (`pool.iterate()`), as a bridge call reads
 * it: pulls never reject, a pull under way when the call is cancelled ends
 * with `cancelled`, and cancelling closes the pooled call at once.
 */
export class PooledStream {
  private pending: Promise<Pulled> | undefined;
  private cancelled = false;
  private readonly cancelListeners = new Set<() => void>();

  constructor(private readonly iterator: AsyncIterator<Chunk>) {}

  /** The next chunk, the end, the error, or the cancellation. */
  pull(): Promise<Pulled> {
    const pending = this.pending ?? this.request();
    this.pending = undefined;
    return pending;
  }

  /**
   * The next chunk if it comes before `tick` fires; otherwise undefined, and
   * the pull stays under way for the next `pull()`. For packing the chunks
   * that are ready into one message without waiting for more.
   */
  async pullReady(tick: Promise<void>): Promise<Pulled | undefined> {
    const pending = this.pending ?? this.request();
    this.pending = pending;
    const pulled = await Promise.race([pending, tick.then(() => undefined)]);
    if (pulled !== undefined) this.pending = undefined;
    return pulled;
  }

  /** Calls back once, when the stream is cancelled; returns a function that stops listening. */
  onCancel(listener: () => void): () => void {
    if (this.cancelled) {
      listener();
      return () => {};
    }
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** Cancels the pooled call: the worker closes the Python generator. Safe to call twice. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const listener of this.cancelListeners) listener();
    this.cancelListeners.clear();
    // return() unsubscribes from the pool's stream, and ends a next() under way.
    void this.iterator.return?.();
  }

  private request(): Promise<Pulled> {
    if (this.cancelled) return Promise.resolve({ kind: 'cancelled' });
    return this.iterator.next().then(
      (result): Pulled =>
        this.cancelled ? { kind: 'cancelled' } : result.done === true ? { kind: 'done' } : { kind: 'chunk', chunk: result.value },
      (error: unknown): Pulled => (this.cancelled ? { kind: 'cancelled' } : { kind: 'error', error }),
    );
  }
}

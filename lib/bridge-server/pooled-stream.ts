import type { Chunk } from '../chunk.js';

/** What one pull from the pool's stream gives. */
export type Pulled =
  | { readonly kind: 'chunk'; readonly chunk: Chunk }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'done' }
  | { readonly kind: 'cancelled' };

const CANCELLED: Pulled = { kind: 'cancelled' };

/**
 * The pool's pull-based stream (`pool.iterate()`), as a bridge call reads
 * it: pulls never reject, a pull still waiting when the call is cancelled
 * ends with `cancelled`, and cancelling closes the pooled call at once,
 * even while no pull waits.
 */
export class PooledStream {
  private pending: Promise<Pulled> | undefined;
  private cancelled = false;
  private markCancelled: () => void = () => {};
  /** Settles when the stream is cancelled, for waits that are not pulls. */
  readonly whenCancelled: Promise<Pulled>;

  constructor(private readonly iterator: AsyncIterator<Chunk>) {
    this.whenCancelled = new Promise<Pulled>((resolve) => (this.markCancelled = () => resolve(CANCELLED)));
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

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

  /** Cancels the pooled call: the worker closes the Python generator. Safe to call twice. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.markCancelled();
    // return() unsubscribes from the pool's stream whether or not a next() waits.
    void this.iterator.return?.();
  }

  private request(): Promise<Pulled> {
    if (this.cancelled) return this.whenCancelled;
    const next = this.iterator.next().then(
      (result): Pulled => (result.done === true ? { kind: 'done' } : { kind: 'chunk', chunk: result.value }),
      (error: unknown): Pulled => ({ kind: 'error', error }),
    );
    return Promise.race([next, this.whenCancelled]);
  }
}

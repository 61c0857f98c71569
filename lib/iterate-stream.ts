import type { Observable, Subscription } from 'rxjs';
import type { Chunk } from './chunk.js';
import { FlowControl } from './flow-control.js';

type Settled<T> = { chunk: Chunk<T> } | { error: unknown } | { done: true };

/**
 * Chunks held for a loop that has not asked for them yet. Pausing at every
 * chunk would cost a pause and resume of the transport per chunk; sixteen is
 * what Node's object streams hold by default, and bounds memory for large chunks.
 */
const HIGH_WATER_MARK = 16;

/**
 * Pulls a stream chunk by chunk: the stream starts at the first `next()`,
 * and delivery pauses once a few chunks wait that nobody asked for yet, so
 * a slow loop holds back the worker instead of filling memory. Leaving
 * the loop early (`break`, `return`, an exception) cancels the call.
 */
export function iterateStream<T>(stream: (flow: FlowControl) => Observable<Chunk<T>>): AsyncIterableIterator<Chunk<T>> {
  const flow = new FlowControl();
  const ready: Settled<T>[] = [];
  let waiting: ((settled: Settled<T>) => void) | undefined;
  let subscription: Subscription | undefined;
  let finished = false;

  const deliver = (settled: Settled<T>) => {
    if (waiting !== undefined) {
      const resolve = waiting;
      waiting = undefined;
      resolve(settled);
      return;
    }
    ready.push(settled);
    if (ready.length >= HIGH_WATER_MARK) flow.pause();
  };

  const settle = (settled: Settled<T>): IteratorResult<Chunk<T>> => {
    if ('chunk' in settled) return { value: settled.chunk, done: false };
    finished = true;
    if ('error' in settled) throw settled.error;
    return { value: undefined, done: true };
  };

  const stop = (): IteratorResult<Chunk<T>> => {
    finished = true;
    ready.length = 0;
    subscription?.unsubscribe();
    return { value: undefined, done: true };
  };

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished && ready.length === 0) return { value: undefined, done: true };
      subscription ??= stream(flow).subscribe({
        next: (chunk) => deliver({ chunk }),
        error: (error: unknown) => deliver({ error }),
        complete: () => deliver({ done: true }),
      });
      const settled = ready.shift();
      // Resuming may deliver at once, into `ready`.
      if (ready.length === 0) flow.resume();
      const next = settled ?? ready.shift();
      if (next !== undefined) return settle(next);
      return settle(await new Promise<Settled<T>>((resolve) => (waiting = resolve)));
    },
    async return() {
      return stop();
    },
    async throw(error?: unknown) {
      stop();
      throw error;
    },
  };
}

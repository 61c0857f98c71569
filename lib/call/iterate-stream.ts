import type { Observable, Subscription } from 'rxjs';
import type { Chunk } from '../chunk.js';
import { FlowControl } from './flow-control.js';
import { binaryByteLength } from '../operators/payload-bytes.js';

type Settled<T> = { chunk: Chunk<T> } | { error: unknown } | { done: true };

/**
 * How far chunks may pile up for a loop that has not asked for them yet.
 * Pausing at every chunk would cost a pause and resume of the transport per
 * chunk; sixteen is what Node's object streams hold by default. Binary
 * chunks also count their bytes, so that large ones do not pile up by the
 * megabyte.
 */
const HIGH_WATER_CHUNKS = 16;
const HIGH_WATER_BYTES = 1024 * 1024;

/** The bytes of a binary payload (`Uint8Array`, `NdArray`); JSON values count by number only. */
function binaryBytes(data: unknown): number {
  return binaryByteLength(data) ?? 0;
}

/**
 * Pulls a stream chunk by chunk: the stream starts at the first `next()`,
 * and delivery pauses once a few chunks wait that nobody asked for yet, so
 * a slow loop holds back the worker instead of filling memory. Leaving
 * the loop early (`break`, `return`, an exception) cancels the call.
 */
export function iterateStream<T>(stream: (flow: FlowControl) => Observable<Chunk<T>>): AsyncIterableIterator<Chunk<T>> {
  const flow = new FlowControl();
  const ready: Settled<T>[] = [];
  let readyBytes = 0;
  /** The next() calls under way, oldest first: a loop may ask again before an answer came, as for any async iterator. */
  const waiting: ((settled: Settled<T>) => void)[] = [];
  let subscription: Subscription | undefined;
  let finished = false;

  const deliver = (settled: Settled<T>) => {
    const resolve = waiting.shift();
    if (resolve !== undefined) {
      resolve(settled);
      // The end goes to the oldest next() under way; the others end too, as an async generator's do.
      if (!('chunk' in settled)) for (const later of waiting.splice(0)) later({ done: true });
      return;
    }
    ready.push(settled);
    if ('chunk' in settled) readyBytes += binaryBytes(settled.chunk.data);
    if (ready.length >= HIGH_WATER_CHUNKS || readyBytes >= HIGH_WATER_BYTES) flow.pause();
  };

  const takeReady = (): Settled<T> | undefined => {
    const settled = ready.shift();
    if (settled !== undefined && 'chunk' in settled) readyBytes -= binaryBytes(settled.chunk.data);
    return settled;
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
    readyBytes = 0;
    subscription?.unsubscribe();
    // The next() calls under way end too, as they would for an async generator that returned.
    for (const pending of waiting.splice(0)) pending({ done: true });
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
      const settled = takeReady();
      // Resuming may deliver at once: to a next() under way, else into `ready`.
      if (ready.length === 0) flow.resume();
      const next = settled ?? takeReady();
      if (next !== undefined) return settle(next);
      return settle(await new Promise<Settled<T>>((resolve) => waiting.push(resolve)));
    },
    return() {
      return Promise.resolve(stop());
    },
    throw(error?: unknown) {
      stop();
      return Promise.reject(error);
    },
  };
}

import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { Chunk, Progress } from 'snakepit-rx/operators';

/** The metadata the pool puts on a final chunk. */
export const FINAL_METADATA: Readonly<Record<string, string>> = {
  execution_time_ms: '42',
  tool_type: 'remote',
  worker_id: 'worker-1',
};

/** A chunk that is not the last of its stream. */
export function chunk<T>(index: number, data: T): Chunk<T> {
  return { data, isFinal: false, index, chunkId: `call-${index}`, metadata: {} };
}

/** A final chunk that the tool marked itself, with a payload. */
export function finalChunk<T>(index: number, data: T): Chunk<T> {
  return { data, isFinal: true, index, chunkId: `call-${index}`, metadata: FINAL_METADATA };
}

/**
 * The final chunk the pool appends when the tool marked none. Its `null`
 * payload is typed `T`, as the pool's stream types it.
 */
export function syntheticFinal<T = never>(index: number): Chunk<T> {
  return {
    data: null as T,
    isFinal: true,
    index,
    chunkId: `call-${index}`,
    metadata: { ...FINAL_METADATA, synthetic_final: 'true' },
  };
}

/** A progress state, with the fields a spec leaves out at their value before any step. */
export function progressState<T>(fields: Partial<Progress<T>>): Progress<T> {
  return {
    current: 0,
    total: undefined,
    fraction: undefined,
    percent: undefined,
    elapsedMs: 0,
    ratePerSecond: undefined,
    etaMs: undefined,
    done: false,
    last: undefined,
    ...fields,
  };
}

/** A TestScheduler that compares frames with vitest's `toEqual`. */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).toEqual(expected);
  });
}

/**
 * Wraps a scheduler to count the work it was given that ran and that was
 * cancelled, to tell whether an operator cleared its timers.
 */
export function spyScheduler(inner: SchedulerLike = asyncScheduler) {
  const counts = { scheduled: 0, ran: 0, cancelled: 0 };
  const scheduler: SchedulerLike = {
    now: () => inner.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      counts.scheduled++;
      let ran = false;
      const subscription = inner.schedule<S>(
        function (this: SchedulerAction<S>, received?: S) {
          ran = true;
          counts.ran++;
          work.call(this, received);
        },
        delay,
        state,
      );
      subscription.add(() => {
        if (!ran) counts.cancelled++;
      });
      return subscription;
    },
  };
  return { scheduler, counts };
}

import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnakepitPool } from '../lib/index.js';
import { batchChunks, chunkData, reduceProgress, takeUntilFinal, toChunkArray } from '../lib/operators/index.js';
import { nextEvent, startTestPool } from './support/pools.js';

describe('operators on a real worker stream', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('batchChunks: full batches, the final chunk in the last one, nothing lost', async () => {
    const batches = await lastValueFrom(pool.stream('count', { n: 1000 }).pipe(batchChunks({ maxCount: 128 }), toArray()));
    expect(batches.map((batch) => batch.length)).toEqual([128, 128, 128, 128, 128, 128, 128, 105]);
    expect(batches.flat().map((chunk) => chunk.index)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    expect(batches.at(-1)?.at(-1)?.isFinal).toBe(true);
  });

  it('reduceProgress: counts the steps of a shape it does not know, done on the final chunk', async () => {
    const states = await lastValueFrom(pool.stream('count', { n: 50 }).pipe(reduceProgress({ total: 50 }), toArray()));
    expect(states.at(-2)).toMatchObject({ current: 50, total: 50, fraction: 1, done: false });
    expect(states.at(-1)).toMatchObject({ done: true, fraction: 1, percent: 100, last: { seq: 49 } });
    expect(states.every((state) => !Number.isNaN(state.fraction ?? 0))).toBe(true);
  });

  it('takeUntilFinal on a stream whose tool marks its final chunk: the call completed, it was not cancelled', async () => {
    const finished = nextEvent(pool, 'call_finished', (event) => event.tool === 'count_final');

    await lastValueFrom(pool.stream('count_final', { n: 3 }).pipe(takeUntilFinal()));

    expect(await finished).toMatchObject({ outcome: 'completed', chunks: 3 });
  });

  it('chunkData, takeUntilFinal and toChunkArray', async () => {
    const data = await lastValueFrom(pool.stream<{ seq: number }>('count', { n: 5 }).pipe(chunkData(), toArray()));
    expect(data).toEqual([0, 1, 2, 3, 4].map((seq) => ({ seq })));
    const untilFinal = await lastValueFrom(pool.stream('count_final', { n: 3 }).pipe(takeUntilFinal(), toArray()));
    expect(untilFinal.map((chunk) => chunk.isFinal)).toEqual([false, false, true]);
    const collected = await lastValueFrom(pool.stream('count', { n: 3 }).pipe(toChunkArray()));
    expect(collected).toHaveLength(4);
  });
});

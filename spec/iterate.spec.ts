import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, producedCount, startTestPool, valueOnceStable, waitUntil } from './support/pools.js';

describe('pool.iterate()', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('yields every chunk in order, the last one final', async () => {
    const seen: (number | undefined)[] = [];
    let last = false;
    for await (const chunk of pool.iterate<{ seq: number } | null>('count', { n: 500 })) {
      seen.push(chunk.data?.seq);
      last = chunk.isFinal;
    }
    expect(seen.slice(0, 500)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(seen).toHaveLength(501);
    expect(last).toBe(true);
  });

  it('starts nothing until the first next()', async () => {
    const marker = markerPath();
    const iterator = pool.iterate('ticker', { marker });
    await pool.execute('echo', { value: 'round trip' });
    expect(markerEvents(marker)).toEqual([]);
    await iterator.next();
    await iterator.return?.();
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
  });

  it('cancels the call when the loop is left early', async () => {
    const marker = markerPath();
    for await (const chunk of pool.iterate('ticker', { marker })) {
      if (chunk.index === 5) break;
    }
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
  });

  it("throws the stream's error after the chunks before it", async () => {
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of pool.iterate<{ seq: number }>('fail_after', { n: 40 })) seen.push(chunk.data.seq);
      })(),
    ).rejects.toMatchObject({ code: 'python_error' });
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('answers next() calls made before the previous ones settled in order, as an async generator does', async () => {
    const chunks = pool.iterate<{ seq: number }>('sequence', { n: 3 });
    const calls = [chunks.next(), chunks.next(), chunks.next(), chunks.next(), chunks.next(), chunks.next()];

    const results = await Promise.all(calls);

    expect(results.map((result) => (result.done ? 'done' : result.value.index))).toEqual([0, 1, 2, 3, 'done', 'done']);
  });

  it('ends the next() calls under way after the one that gets the error', async () => {
    const chunks = pool.iterate('fail_after', { n: 1 });
    const calls = [chunks.next(), chunks.next(), chunks.next()];

    const settled = await Promise.allSettled(calls);

    expect(settled.map((result) => (result.status === 'rejected' ? 'error' : result.value.done ? 'done' : 'chunk'))).toEqual([
      'chunk',
      'error',
      'done',
    ]);
  });

  it('throws argument errors from the first next()', async () => {
    const iterator = pool.iterate('count', { n: 1n });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'invalid_arguments' });
  });

  it('holds the generator back while the loop is slow', async () => {
    const progress = markerPath();
    const total = 20_000;
    const iterator = pool.iterate<{ seq: number } | null>('produce', { n: total, size: 4096, progress });
    await iterator.next();
    const last = await valueOnceStable(() => producedCount(progress), 200);
    expect(last).toBeLessThan(total / 2);
    let count = 1;
    for await (const chunk of iterator) {
      expect(chunk.index).toBe(count);
      count += 1;
    }
    expect(count).toBe(total + 1);
  });
});

import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSyntheticFinal, type Chunk, type SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, startTestPool, waitUntil } from './support/pools.js';

describe('pool.stream()', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 2 }));
  });
  afterAll(() => pool.close());

  it('emits every chunk in order, then one final chunk', async () => {
    const chunks = await lastValueFrom(pool.stream<{ seq: number } | null>('count', { n: 1000 }).pipe(toArray()));
    expect(chunks).toHaveLength(1001);
    expect(chunks.slice(0, 1000).map((chunk) => chunk.data?.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(chunks.map((chunk) => chunk.index)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    expect(chunks.filter((chunk) => chunk.isFinal)).toEqual([chunks[1000]]);
    expect(new Set(chunks.map((chunk) => chunk.chunkId)).size).toBe(1001);
  });

  it('is cold: nothing runs until subscription, and each subscription runs the tool again', async () => {
    const marker = markerPath();
    const ticks = pool.stream('ticker', { marker }).pipe(take(2));
    // A round trip to the worker that would have seen the tool start if stream() had started it.
    await pool.execute('echo', { value: 1 });
    expect(markerEvents(marker)).toEqual([]);
    await lastValueFrom(ticks);
    await lastValueFrom(ticks);
    // The first run may still be closing while the second starts on the other worker.
    await waitUntil(() => markerEvents(marker).length === 4, 5_000, 'two runs to start and close');
    expect(markerEvents(marker).sort()).toEqual(['closed', 'closed', 'started', 'started']);
  });

  it('decorates the final chunk marked by the tool, keeping the keys the tool set', async () => {
    const chunks = await lastValueFrom(
      pool.stream('count_final', { n: 3, metadata: { tool_type: 'custom', note: 'kept' } }).pipe(toArray()),
    );
    expect(chunks).toHaveLength(3);
    const final = chunks[2]!;
    expect(final.isFinal).toBe(true);
    expect(final.data).toEqual({ seq: 2 });
    expect(isSyntheticFinal(final)).toBe(false);
    expect(final.metadata).toMatchObject({ tool_type: 'custom', note: 'kept', worker_id: expect.stringMatching(/^worker-\d+$/) });
    expect(Number(final.metadata['execution_time_ms'])).toBeGreaterThanOrEqual(0);
  });

  it('appends a synthetic final chunk when the tool marks none', async () => {
    const chunks = await lastValueFrom(pool.stream('count', { n: 2 }).pipe(toArray()));
    const final = chunks.at(-1)!;
    expect(final).toMatchObject({ data: null, isFinal: true, index: 2 });
    expect(final.metadata).toMatchObject({ synthetic_final: 'true', tool_type: 'remote', worker_id: expect.any(String) });
    expect(Number.isInteger(Number(final.metadata['execution_time_ms']))).toBe(true);
  });

  it('streams async generators', async () => {
    const data = await lastValueFrom(pool.stream<{ seq: number }>('async_count', { n: 5 }).pipe(toArray()));
    expect(data.slice(0, 5).map((chunk) => chunk.data.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(data[5]?.isFinal).toBe(true);
  });

  it('delivers every chunk yielded before an exception, then the typed error', async () => {
    const received: Chunk<{ seq: number }>[] = [];
    const error = await new Promise<unknown>((resolve) => {
      pool.stream<{ seq: number }>('fail_after', { n: 500, message: 'loss is NaN' }).subscribe({
        next: (chunk) => received.push(chunk),
        error: resolve,
        complete: () => resolve(new Error('completed instead of failing')),
      });
    });
    expect(received.map((chunk) => chunk.data.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(received.some((chunk) => chunk.isFinal)).toBe(false);
    expect(error).toMatchObject({
      name: 'SnakepitError',
      code: 'python_error',
      message: 'loss is NaN',
      pythonType: 'test_adapter.TrainingDiverged',
    });
    expect((error as { pythonTraceback: string }).pythonTraceback).toContain('raise TrainingDiverged(message)');
  });

  it('closes the Python generator when the subscriber unsubscribes', async () => {
    const marker = markerPath();
    const first = await firstValueFrom(pool.stream<{ seq: number }>('ticker', { marker }));
    expect(first.data.seq).toBe(0);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
    expect(markerEvents(marker)).toEqual(['started', 'closed']);
  });

  it('closes an async generator when the subscriber unsubscribes', async () => {
    const marker = markerPath();
    await lastValueFrom(pool.stream('async_ticker', { marker }).pipe(take(3)));
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the async generator to be closed');
  });

  it('passes what a tool prints to the log, not into the stream', async () => {
    const { pool: printing, logs } = await startTestPool();
    try {
      const chunks = await lastValueFrom(printing.stream<{ seq: number }>('stray_print', { n: 3 }).pipe(toArray()));
      expect(chunks.map((chunk) => chunk.data?.seq)).toEqual([0, 1, 2, undefined]);
      // stderr is a pipe of its own: its lines may arrive after the stream's last message.
      await waitUntil(() => logs.includes('worker-1: stray output 2'), 5_000, 'the printed lines in the log');
      expect(logs).toEqual(expect.arrayContaining(['worker-1: stray output 0', 'worker-1: stray output 2']));
    } finally {
      await printing.close();
    }
  });
});

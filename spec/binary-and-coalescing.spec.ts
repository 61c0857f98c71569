import { writeFileSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import type { NdArray, SnakepitPool } from '../lib/index.js';
import { markerPath, reportFigure, startTestPool } from './support/pools.js';

describe('chunk coalescing', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());
  afterEach(() => vi.restoreAllMocks());

  function countMessages(): { readonly count: number } {
    const spy = vi.spyOn(pb.ChunkBatch, 'deserialize');
    return {
      get count() {
        return spy.mock.calls.length;
      },
    };
  }

  it('packs fast chunks into few messages, unpacked in order with their boundaries and final marker', async () => {
    const messages = countMessages();
    const chunks = await lastValueFrom(pool.stream<{ seq: number } | null>('count', { n: 20_000 }).pipe(toArray()));
    expect(messages.count).toBeLessThan(2_000);
    expect(chunks.map((chunk) => chunk.data?.seq)).toEqual([...Array.from({ length: 20_000 }, (_, i) => i), undefined]);
    expect(chunks.map((chunk) => chunk.index)).toEqual(Array.from({ length: 20_001 }, (_, i) => i));
    expect(chunks.filter((chunk) => chunk.isFinal)).toHaveLength(1);
  });

  it('keeps a tool-marked final chunk last, after a coalesced run', async () => {
    const chunks = await lastValueFrom(pool.stream<{ seq: number }>('count_final', { n: 5_000 }).pipe(toArray()));
    expect(chunks).toHaveLength(5_000);
    expect(chunks.at(-1)).toMatchObject({ isFinal: true, data: { seq: 4_999 } });
  });

  it('delivers every coalesced chunk before an exception that follows them', async () => {
    const received: number[] = [];
    await expect(
      pool.executeStream<{ seq: number }>('fail_after', { n: 30_000 }, (chunk) => received.push(chunk.data.seq)),
    ).rejects.toMatchObject({ code: 'python_error' });
    expect(received).toEqual(Array.from({ length: 30_000 }, (_, i) => i));
  });

  it('sends a slow chunk at once instead of waiting for company: within a few ms', async () => {
    // The tool yields a chunk, then waits for the marker to name it before the next: each chunk travels
    // alone, and its delay from the yield (the tool stamps it) to its arrival is what the pump adds to it.
    const marker = markerPath();
    const delays: number[] = [];
    await pool.executeStream<{ seq: number; at: number }>('ping_pong', { marker, rounds: 30 }, (chunk) => {
      if (chunk.data === null) return;
      delays.push(Date.now() - chunk.data.at * 1000);
      writeFileSync(marker, String(chunk.data.seq));
    });
    expect(delays).toHaveLength(30);
    const median = delays.sort((a, b) => a - b)[15]!;
    reportFigure('a lone chunk from yield to arrival, median of 30', median, 'ms');
    expect(median).toBeLessThan(10);
  });
});

describe('binary payloads', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1, maxMessageBytes: 1024 * 1024 }));
  });
  afterAll(() => pool.close());

  const TYPED: [string, new (length: number) => ArrayBufferView][] = [
    ['bool', Uint8Array],
    ['uint8', Uint8Array],
    ['int8', Int8Array],
    ['int16', Int16Array],
    ['uint16', Uint16Array],
    ['int32', Int32Array],
    ['uint32', Uint32Array],
    ['float32', Float32Array],
    ['float64', Float64Array],
    ['int64', BigInt64Array],
    ['uint64', BigUint64Array],
  ];

  it.each(TYPED)('a numpy %s array arrives as { dtype, shape, data } with the matching typed array', async (dtype, Typed) => {
    const [chunk] = await lastValueFrom(pool.stream<NdArray>('arrays', { dtypes: [dtype], n: 6, shape: [2, 3] }).pipe(toArray()));
    expect(chunk!.data.dtype).toBe(dtype);
    expect(chunk!.data.shape).toEqual([2, 3]);
    expect(chunk!.data.data).toBeInstanceOf(Typed);
    const expected = dtype === 'bool' ? [0, 1, 1, 1, 1, 1] : [0, 1, 2, 3, 4, 5];
    expect(Array.from(chunk!.data.data as ArrayLike<number | bigint>, Number)).toEqual(expected);
  });

  it('views a large array where it lies in the received message, without a copy', async () => {
    const [chunk] = await lastValueFrom(pool.stream<NdArray>('arrays', { dtypes: ['float64'], n: 100_000 }).pipe(toArray()));
    const values = chunk!.data.data as Float64Array;
    expect(values[99_999]).toBe(99_999);
    // A copy would own a buffer of exactly its size; a view shares the message's larger buffer.
    expect(values.buffer.byteLength).toBeGreaterThan(values.byteLength);
  });

  it('delivers bytes as a Uint8Array, and arrays inside a StreamChunk with its metadata', async () => {
    const chunks = await lastValueFrom(pool.stream('binary_chunks').pipe(toArray()));
    expect(chunks[0]!.data).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(chunks[1]!.data).toMatchObject({ dtype: 'float64', shape: [2, 3], data: new Float64Array([0, 1, 2, 3, 4, 5]) });
    expect(chunks[2]).toMatchObject({ data: { done: true }, metadata: { stage: 'last' } });
  });

  it("streams the guide's dataset as float64 arrays, the last one final", async () => {
    const chunks = await lastValueFrom(
      pool.stream<NdArray<Float64Array>>('dataset_arrays', { rows: 2_500, chunk_size: 1_000 }).pipe(toArray()),
    );
    expect(chunks.map((chunk) => chunk.data.shape)).toEqual([
      [1000, 10],
      [1000, 10],
      [500, 10],
    ]);
    expect(chunks.map((chunk) => chunk.data.data[0])).toEqual([1000, 2000, 2500]);
    expect(chunks.map((chunk) => chunk.isFinal)).toEqual([false, false, true]);
  });

  it('returns a numpy array from a unary tool', async () => {
    await expect(pool.execute<NdArray>('array_result', { n: 4 })).resolves.toEqual({
      dtype: 'int32',
      shape: [4],
      data: new Int32Array([0, 1, 2, 3]),
    });
  });

  it('fails an oversized binary chunk with chunk_too_large, after the chunks before it', async () => {
    const received: unknown[] = [];
    await expect(
      pool.executeStream('arrays', { dtypes: ['uint8', 'float64'], n: 200_000 }, (chunk) => received.push(chunk.data)),
    ).rejects.toMatchObject({ code: 'chunk_too_large', message: expect.stringMatching(/chunk 1 is \d+ bytes/) });
    expect(received).toHaveLength(1);
    await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
  });
});

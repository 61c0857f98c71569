import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnakepitPool } from '../lib/index.js';
import { heldBackStream, markerEvents, markerPath, startTestPool, waitUntil } from './support/pools.js';

describe('pool.executeStream()', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('calls back for each chunk, synchronously and in order, and resolves on completion', async () => {
    const seen: number[] = [];
    let resolved = false;
    const done = pool
      .executeStream<{ seq: number } | null>('count', { n: 300 }, (chunk) => {
        expect(resolved).toBe(false);
        seen.push(chunk.index);
      })
      .then(() => (resolved = true));
    await done;
    expect(seen).toEqual(Array.from({ length: 301 }, (_, i) => i));
  });

  it("rejects with the stream's error", async () => {
    await expect(pool.executeStream('fail_after', { n: 2 }, () => undefined)).rejects.toMatchObject({ code: 'python_error' });
  });

  it("rejects with the callback's own error and cancels the stream", async () => {
    const marker = markerPath();
    const mistake = new Error('callback bug');
    await expect(
      pool.executeStream('ticker', { marker }, (chunk) => {
        if (chunk.index === 3) throw mistake;
      }),
    ).rejects.toBe(mistake);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
  });

  it('waits for an async callback before the next chunk, and resolves only after the last one settled', async () => {
    const order: string[] = [];
    await pool.executeStream('count', { n: 3 }, async (chunk) => {
      order.push(`start ${chunk.index}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(`end ${chunk.index}`);
    });
    order.push('resolved');
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'resolved']);
  });

  it('rejects when an async callback rejects', async () => {
    await expect(
      pool.executeStream('count', { n: 5 }, (chunk) => (chunk.index === 1 ? Promise.reject(new Error('async bug')) : Promise.resolve())),
    ).rejects.toThrow('async bug');
  });

  it("rejects with the error of a thenable's then() and cancels the stream, rather than throw it out of reach", async () => {
    const marker = markerPath();
    const mistake = new Error('then bug');
    const broken = {
      then: () => {
        throw mistake;
      },
    };
    await expect(pool.executeStream('ticker', { marker }, (chunk) => (chunk.index === 2 ? broken : undefined))).rejects.toBe(mistake);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
  }, 10_000);

  it('pauses the worker while an async callback is busy: the generator waits, then everything arrives in order', async () => {
    const total = 20_000;
    const { received, done, release, produced } = heldBackStream(pool, total);
    // While the first callback is held, the generator runs ahead until the buffers between it and us fill, then stops.
    const last = await produced(200);
    expect(last).toBeLessThan(total / 2);
    expect(received).toHaveLength(1);
    release();
    await done;
    expect(received.slice(0, total).map((chunk) => chunk.data?.seq)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(received.at(-1)?.isFinal).toBe(true);
  });

  it('hands the worker back once the tool has ended, while an async callback still holds chunks back', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const received: number[] = [];
    const done = pool.executeStream<{ seq: number } | null>('count', { n: 50 }, async (chunk) => {
      received.push(chunk.index);
      if (chunk.index === 0) await released;
    });
    // The pool's only worker serves another call while the first chunks still wait for the callback.
    await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    expect(received).toEqual([0]);
    release();
    await done;
    expect(received).toEqual(Array.from({ length: 51 }, (_, i) => i));
  });
});

describe('pool.execute() and pool.tools()', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('resolves with the result of a unary tool', async () => {
    await expect(pool.execute('add', { a: 20, b: 22 })).resolves.toBe(42);
    const value = { nested: [1, 'two', { three: null }], unicode: 'π ≈ 3.14 🐍' };
    await expect(pool.execute('echo', { value })).resolves.toEqual(value);
  });

  it('awaits async tools', async () => {
    await expect(pool.execute('async_echo', { value: [1, 2] })).resolves.toEqual([1, 2]);
  });

  it("lists the adapter's tools with their parameters and schemas", () => {
    const tools = pool.tools();
    expect(tools.find((tool) => tool.name === 'count')).toEqual({
      name: 'count',
      description: 'Yields {seq} from start to start + n - 1',
      supportsStreaming: true,
      parameters: [
        { name: 'n', type: 'int', required: true },
        { name: 'start', type: 'int', required: false, default: 0 },
      ],
      parametersSchema: {
        title: 'CountArguments',
        type: 'object',
        properties: { n: { type: 'integer' }, start: { type: 'integer', default: 0 } },
        required: ['n'],
        additionalProperties: false,
      },
      resultSchema: { type: 'object', additionalProperties: { type: 'integer' } },
    });
    expect(tools.find((tool) => tool.name === 'add')).toMatchObject({ description: 'Not a streaming tool', supportsStreaming: false });
  });
});

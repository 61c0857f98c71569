import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../lib/browser/index.js';
import { pb } from '../lib/contract/bridge-connection.js';
import { decodePayload, withAttachments } from '../lib/contract/payload-decoding.js';
import { chunkData, type SnakepitPool } from '../lib/index.js';
import { rejectionOf, startTestPool } from './support/pools.js';
import { poolBehindBridgeServer, poolBehindHttpHandler } from './support/served-pools.js';

// Issue #12: arrays, bytes and Arrow data anywhere inside a yielded dict or list travel raw, as
// attachments of the message, and arrive in place as NdArray / Uint8Array, where they were.

const RAW_DTYPES = {
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

function array(dtype: string, shape: number[], data: ArrayLike<number> | ArrayLike<bigint>): unknown {
  const Typed = RAW_DTYPES[dtype as keyof typeof RAW_DTYPES];
  return { dtype, shape, data: new (Typed as new (values: ArrayLike<number | bigint>) => unknown)(data) };
}

/** What each kind of spec/fixtures/test_adapter.py's _nested_binary must arrive as. */
export const NESTED: Readonly<Record<string, unknown>> = {
  deep: {
    a: [1, { b: [array('float32', [2, 3], [0, 1, 2, 3, 4, 5]), new Uint8Array([0, 1, 255])] }],
    c: 'text',
    d: { e: { f: [[array('float64', [], [2.5])]] } },
  },
  dtypes: Object.fromEntries(
    Object.keys(RAW_DTYPES).map((dtype) => {
      const values = dtype === 'bool' ? [0, 1, 1, 1, 1] : [0, 1, 2, 3, 4];
      return [dtype, array(dtype, [5, 1], dtype.endsWith('int64') ? values.map(BigInt) : values)];
    }),
  ),
  list: [array('uint8', [0, 3], []), new Uint8Array([97, 98]), new Uint8Array([99, 100]), new Uint8Array([])],
  shared: { x: array('int16', [4], [0, 1, 2, 3]), y: [array('int16', [4], [0, 1, 2, 3])] },
  int64: { ids: array('int64', [2], [2n ** 60n, -(2n ** 63n)]), n: 1 },
  lookalike: {
    text: '\u0000snakepit-attachment:0123456789abcdef:0',
    weights: array('float64', [2], [1.5, -0]),
    '\u0000snakepit-attachment:key': 1,
  },
  float16: { half: [0.5], full: array('float32', [1], [0.5]) },
  // JSON.parse makes "__proto__" an own key; the placeholder there must be replaced as an own key too.
  proto: Object.defineProperty({ constructor: array('uint32', [2], [0, 1]) }, '__proto__', {
    value: new Uint8Array([1]),
    enumerable: true,
    writable: true,
    configurable: true,
  }),
  nan: { w: array('float64', [2], [NaN, Infinity]) },
};

function expectSame(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(expected);
  // toEqual does not compare typed arrays' classes.
  const walk = (a: unknown, e: unknown): void => {
    if (ArrayBuffer.isView(e)) {
      expect((a as object).constructor).toBe(e.constructor);
      return;
    }
    if (typeof e === 'object' && e !== null)
      for (const key of Object.keys(e)) walk((a as Record<string, unknown>)[key], (e as Record<string, unknown>)[key]);
  };
  walk(actual, expected);
}

describe('binary values inside structures', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it.each(Object.entries(NESTED))('%s arrives in place as a result', async (kind, expected) => {
    expectSame(await pool.execute('nested_binary', { kind }), expected);
  });

  it.each(Object.entries(NESTED))('%s arrives in place in chunks, batched and final', async (kind, expected) => {
    const kinds = [kind, 'deep', kind];
    for (const final of [false, true]) {
      const chunks = await lastValueFrom(pool.stream('nested_binaries', { kinds, final }).pipe(chunkData(), toArray()));
      expectSame(chunks, [expected, NESTED.deep, expected]);
    }
  });

  it('views the message in place: arrays are typed arrays over a shared buffer, aligned', async () => {
    const chunks = await lastValueFrom(pool.stream('nested_binaries', { kinds: ['dtypes', 'dtypes'] }).pipe(chunkData(), toArray()));
    for (const chunk of chunks as Record<string, { data: ArrayBufferView }>[]) {
      for (const { data } of Object.values(chunk)) {
        expect(data.byteOffset % 8).toBe(0);
        expect(data.buffer.byteLength).toBeGreaterThan(data.byteLength);
      }
    }
  });

  it.each([
    ['nan_outside', /^chunk\[1\]\["loss"\] is the float nan/],
    ['masked', /^chunk\[1\]\["m"\] is a numpy masked array with 1 masked entry/],
  ])('%s is refused at its index, after the chunks before it', async (kind, message) => {
    const received: unknown[] = [];
    const error = await rejectionOf(
      pool.executeStream('nested_binaries', { kinds: ['deep', kind, 'deep'] }, (chunk) => received.push(chunk.data)),
    );
    expect(error.code).toBe('serialization_error');
    expect(error.message).toMatch(message);
    expectSame(received, [NESTED.deep]);
  });
});

describe('binary values inside structures, through a bridge server', () => {
  const bridge = poolBehindBridgeServer();

  const request = (tool: string, args: unknown) =>
    new pb.ExecuteToolRequest({ tool_name: tool, arguments: Buffer.from(JSON.stringify(args)) });

  it.each(Object.entries(NESTED))('%s arrives in place as a result', async (kind, expected) => {
    const response = await new Promise<InstanceType<typeof pb.ExecuteToolResponse>>((resolve, reject) =>
      bridge.client.ExecuteTool(request('nested_binary', { kind }), (error, answer) => (error ? reject(error) : resolve(answer!))),
    );
    expectSame(withAttachments(decodePayload(response.encoding, response.result, undefined), response.attachments), expected);
  });

  it.each(Object.entries(NESTED))('%s arrives in place in batches, the attachments naming their chunks', async (kind, expected) => {
    const values = await new Promise<unknown[]>((resolve, reject) => {
      const received: unknown[] = [];
      const call = bridge.client.ExecuteStreamingToolBatched(request('nested_binaries', { kinds: [kind, 'deep', kind], final: true }));
      call.on('data', (batch: InstanceType<typeof pb.ChunkBatch>) => {
        const run = batch.json_run.byteLength > 0 ? (JSON.parse(Buffer.from(batch.json_run).toString()) as unknown[]) : [];
        const chunks = [...run, ...batch.chunks.map((chunk) => decodePayload(chunk.encoding, chunk.data, undefined))];
        expect(batch.chunks.every((chunk) => chunk.attachments.length === 0)).toBe(true);
        chunks.forEach((value, position) =>
          received.push(
            withAttachments(
              value,
              batch.attachments.filter((attachment) => attachment.chunk === position),
            ),
          ),
        );
      });
      call.on('error', reject);
      call.on('end', () => resolve(received));
    });
    expectSame(values, [expected, NESTED.deep, expected]);
  });

  it('sends them with each chunk on the one-message-per-chunk stream', async () => {
    const values = await new Promise<unknown[]>((resolve, reject) => {
      const received: unknown[] = [];
      const call = bridge.client.ExecuteStreamingTool(request('nested_binaries', { kinds: ['deep', 'list'] }));
      call.on('data', (chunk: InstanceType<typeof pb.ToolChunk>) =>
        received.push(withAttachments(decodePayload(chunk.encoding, chunk.data, undefined), chunk.attachments)),
      );
      call.on('error', reject);
      call.on('end', () => resolve(received));
    });
    expectSame(values.slice(0, 2), [NESTED.deep, NESTED.list]);
  });
});

describe('binary values inside structures, through the HTTP handler and the browser client', () => {
  const http = poolBehindHttpHandler();

  it.each(Object.entries(NESTED))('%s arrives in place, as a result and in chunks', async (kind, expected) => {
    const client = createHttpClient({ baseUrl: http.baseUrl });
    expectSame(await client.execute('nested_binary', { kind }), expected);
    const chunks = await lastValueFrom(
      client.stream('nested_binaries', { kinds: [kind, 'deep'], final: true }).pipe(chunkData(), toArray()),
    );
    expectSame(chunks, [expected, NESTED.deep]);
  });
});

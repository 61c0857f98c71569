import * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { createHttpClient } from '../lib/browser/index.js';
import { chunkData, isNdArray, type SnakepitPool } from '../lib/index.js';
import { rejectionOf, startTestPool } from './support/pools.js';
import { poolBehindBridgeServer, poolBehindHttpHandler } from './support/served-pools.js';

// Nothing may arrive as a value it was not (issue #10, bugs 6 and 7), on every path: these
// round trips go through real workers, and through a bridge server to a client.

/** Values a tool makes that must arrive exactly; `Object.is` tells -0 from 0, and `toEqual` does too. */
const EXACT: readonly (readonly [string, unknown])[] = [
  ['negative_zero', -0],
  ['np_negative_zero', -0],
  ['nested_negative_zero', { z: [-0, 0] }],
  ['big_float', 2 ** 60],
  ['np_int64_safe', Number.MAX_SAFE_INTEGER],
  ['unmasked', { dtype: 'float64', shape: [2], data: new Float64Array([1, 2]) }],
];

/** Values a tool makes that must be refused, where they are and why. */
const REFUSED: readonly (readonly [string, string, RegExp])[] = [
  ['int_2_53', '', /the integer 9007199254740992, beyond ±\(2\^53-1\)/],
  ['negative_int_2_53', '', /the integer -9007199254740992, beyond/],
  ['nested_int', '["a"][3]', /the integer 1152921504606846976, beyond/],
  ['np_int64', '', /the integer 1152921504606846976, beyond/],
  ['np_uint64', '["u"]', /the integer 18446744073709551615, beyond/],
  ['masked', '', /masked array with 1 masked entry: its mask cannot travel/],
  ['masked_in_list', '[0]', /its mask cannot travel/],
  ['masked_scalar', '["v"]', /numpy\.ma\.masked/],
  ['structured', '', /structured dtype .*field names would be lost/],
  ['longdouble', '', /float128 \(long double\)/],
  ['longdouble_scalar', '["x"]', /long double/],
  ['complex', '', /complex numbers/],
  ['datetime', '', /JavaScript has no matching type/],
  ['strings', '', /Node has no typed array/],
  ['objects', '', /Node has no typed array/],
];

describe('values that must arrive exactly, or be refused', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it.each(EXACT)('%s arrives as it was, as a result and as a chunk', async (kind, expected) => {
    const result = await pool.execute('python_value', { kind });
    expect(result).toEqual(expected);
    if (typeof expected === 'number') expect(Object.is(result, expected)).toBe(true);
    const chunks = await lastValueFrom(pool.stream('python_values', { kinds: [kind, kind] }).pipe(chunkData(), toArray()));
    expect(chunks).toEqual([expected, expected]);
  });

  it.each([
    ['int64_array', new BigInt64Array([2n ** 60n, -(2n ** 63n)])],
    ['uint64_array', new BigUint64Array([2n ** 64n - 1n])],
  ] as const)('%s stays exact as a raw array', async (kind, data) => {
    const result = await pool.execute('python_value', { kind });
    expect(isNdArray(result) && result.data).toEqual(data);
  });

  it('an int64 array inside a dict stays exact, as an attachment (it was refused while it travelled as JSON)', async () => {
    const result = await pool.execute<{ ids: unknown }>('python_value', { kind: 'int64_array_in_json' });
    expect(isNdArray(result.ids) && result.ids.data).toEqual(new BigInt64Array([1n, 2n ** 60n]));
  });

  it.each(REFUSED)('%s is refused with serialization_error, named where it is, as a result', async (kind, path, reason) => {
    const error = await rejectionOf(pool.execute('python_value', { kind }));
    expect(error.code).toBe('serialization_error');
    expect(error.message.startsWith(`result${path} is `)).toBe(true);
    expect(error.message).toMatch(reason);
    expect(error.message).not.toMatch(/recursion/);
    expect(error.hint).toBeTruthy();
  });

  it.each(REFUSED)('%s is refused as a chunk, after the chunks before it', async (kind, path, reason) => {
    const received: unknown[] = [];
    const error = await rejectionOf(
      pool.executeStream('python_values', { kinds: ['negative_zero', kind] }, (chunk) => received.push(chunk.data)),
    );
    expect(received).toEqual([-0]);
    expect(error.code).toBe('serialization_error');
    expect(error.message.startsWith(`chunk[1]${path} is `)).toBe(true);
    expect(error.message).toMatch(reason);
  });

  // A tool's plain chunks travel many to a message, as runs of JSON encoded at their yield: a value
  // refused in the middle of such a run still fails at its own index, after every chunk before it.
  it.each([
    ['nan_in_dict', '["loss"]', /the float nan/],
    ['inf_in_list', '[1]', /the float -inf/],
    ['nested_int', '["a"][3]', /the integer 1152921504606846976, beyond/],
    ['opaque_in_dict', '["lock"]', /lock/],
  ])('%s after 5,000 batched plain chunks is refused at its index, after all of them', async (kind, path, reason) => {
    const received: { index: number; data: unknown }[] = [];
    const error = await rejectionOf(
      pool.executeStream('count_then_values', { n: 5000, kinds: [kind, 'negative_zero'] }, (chunk) =>
        received.push({ index: chunk.index, data: chunk.data }),
      ),
    );
    expect(received).toEqual(Array.from({ length: 5000 }, (_, seq) => ({ index: seq, data: { seq } })));
    expect(error.code).toBe('serialization_error');
    expect(error.message.startsWith(`chunk[5000]${path} is `)).toBe(true);
    expect(error.message).toMatch(reason);
  });

  it('a lone surrogate travels in a batched run as it does alone (JSON escapes it; Node keeps it)', async () => {
    const chunks = await lastValueFrom(
      pool.stream('count_then_values', { n: 3000, kinds: ['lone_surrogate', 'lone_surrogate'] }).pipe(chunkData(), toArray()),
    );
    expect(chunks.slice(3000)).toEqual([{ label: 'a\ud800b' }, { label: 'a\ud800b' }]);
    expect(chunks).toHaveLength(3002);
  });

  it('integers beyond 2^53 in the hint suggest a string or a float', async () => {
    const error = await rejectionOf(pool.execute('python_value', { kind: 'nested_int' }));
    expect(error.hint).toMatch(/string.*float/);
  });

  describe('arguments', () => {
    it.each([
      ['-0', { value: -0 }, -0],
      ['-0 nested', { value: [0, { z: -0 }] }, [0, { z: -0 }]],
      [
        'the largest safe integers',
        { value: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER] },
        [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
      ],
      [
        'doubles JSON writes with an exponent',
        { value: [1e21, -6.02214076e23, 1.7976931348623157e308] },
        [1e21, -6.02214076e23, 1.7976931348623157e308],
      ],
    ])('%s reaches the tool and comes back exactly', async (_, args, expected) => {
      const result = await pool.execute('echo', args);
      expect(result).toEqual(expected);
      if (typeof expected === 'number') expect(Object.is(result, expected)).toBe(true);
    });

    it.each([
      [{ value: 2 ** 53 }, /^arguments\.value is 9007199254740992, an integer beyond ±\(2\^53-1\)/],
      [{ value: [1, -(2 ** 60)] }, /^arguments\.value\[1\] is -1152921504606847000, an integer beyond/],
      [{ value: { id: Number('12345678901234567890') } }, /^arguments\.value\.id is 12345678901234567000, an integer beyond/],
      [{ value: 1e20 }, /^arguments\.value is 100000000000000000000, an integer beyond/],
    ])('%j is refused with invalid_arguments before anything is sent', async (args, message) => {
      const error = await rejectionOf(pool.execute('echo', args));
      expect(error.code).toBe('invalid_arguments');
      expect(error.message).toMatch(message);
      expect(error.hint).toMatch(/string/);
    });
  });
});

describe('through a bridge server', () => {
  const bridge = poolBehindBridgeServer();

  const request = (tool: string, json: string) => new pb.ExecuteToolRequest({ tool_name: tool, arguments: Buffer.from(json) });

  function execute(tool: string, json: string): Promise<{ text?: string; error?: grpc.ServiceError }> {
    return new Promise((resolve) =>
      bridge.client.ExecuteTool(request(tool, json), (error, response) =>
        resolve(error ? { error } : { text: Buffer.from(response!.result).toString('utf8') }),
      ),
    );
  }

  function detailOf(error: grpc.ServiceError | undefined): InstanceType<typeof pb.ErrorDetail> {
    const encoded = error?.metadata.get('snakepit-error-bin')[0];
    if (!(encoded instanceof Buffer)) throw new Error(`no ErrorDetail: ${String(error)}`);
    return pb.ErrorDetail.deserialize(encoded);
  }

  it.each([
    ['{"value": -0.0}', '-0.0'],
    ['{"value": -0}', '-0.0'],
    ['{"value": [0, {"z": -0.0}]}', '[0,{"z":-0.0}]'],
    ['{"value": 1.152921504606847e+18}', '1.152921504606847e+18'],
    ['{"value": 9007199254740991}', '9007199254740991'],
  ])('ExecuteTool echoes %s as %s: -0 keeps its sign, a float beyond 2^53 stays a float', async (args, text) => {
    expect(await execute('echo', args)).toEqual({ text });
  });

  it("relays a client's integer beyond 2^53 to the worker, which refuses it with invalid_arguments", async () => {
    const { error } = await execute('echo', '{"value": [1, 9007199254740993]}');
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const detail = detailOf(error);
    expect(detail.code).toBe('invalid_arguments');
    expect(detail.message).toMatch(/^arguments\["value"\]\[1\] is the integer 9007199254740993, beyond/);
  });

  it('refuses a result holding an integer beyond 2^53 with serialization_error', async () => {
    const { error } = await execute('python_value', '{"kind": "nested_int"}');
    expect(error?.code).toBe(grpc.status.INTERNAL);
    expect(detailOf(error)).toMatchObject({
      code: 'serialization_error',
      message: expect.stringMatching(/^result\["a"\]\[3\] is the integer/),
    });
  });

  it('streams -0 with its sign, one chunk per message and batched', async () => {
    const args = '{"values": [-0.0, 0, {"z": -0.0}, 1.152921504606847e+18]}';
    const expected = ['-0.0', '0', '{"z":-0.0}', '1.152921504606847e+18'];
    const single = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = bridge.client.ExecuteStreamingTool(request('echo_stream', args));
      call.on('data', (chunk: InstanceType<typeof pb.ToolChunk>) => texts.push(Buffer.from(chunk.data).toString('utf8')));
      call.on('error', reject);
      call.on('end', () => resolve(texts));
    });
    expect(single.slice(0, 4)).toEqual(expected);
    const runs = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = bridge.client.ExecuteStreamingToolBatched(request('echo_stream', args));
      call.on('data', (batch: InstanceType<typeof pb.ChunkBatch>) => {
        if (batch.json_run.byteLength > 0) texts.push(Buffer.from(batch.json_run).toString('utf8'));
      });
      call.on('error', reject);
      call.on('end', () => resolve(texts));
    });
    // The run may come in more than one message; JSON.parse keeps -0, and toEqual tells it from 0.
    expect(runs.flatMap((run) => JSON.parse(run) as unknown[])).toEqual([-0, 0, { z: -0 }, 2 ** 60]);
    expect(runs.join()).toContain('1.152921504606847e+18');
  });
});

describe('through the HTTP handler and the browser client', () => {
  const http = poolBehindHttpHandler();

  it('keeps -0 and large doubles both ways, as a result and as chunks', async () => {
    const client = createHttpClient({ baseUrl: http.baseUrl });
    const value = [-0, 0, { z: -0 }, 1e22];
    const result = await client.execute('echo', { value });
    expect(result).toEqual(value);
    expect(Object.is((result as number[])[0], -0)).toBe(true);
    const chunks = await lastValueFrom(client.stream('echo_stream', { values: value }).pipe(chunkData(), toArray()));
    expect(chunks).toEqual(value);
    expect(Object.is(chunks[0], -0)).toBe(true);
  });

  it('refuses an integer beyond 2^53 in the body with invalid_arguments', async () => {
    const response = await fetch(`${http.baseUrl}/execute/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"args": {"value": [1, 9007199254740993]}}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'invalid_arguments' });
  });
});

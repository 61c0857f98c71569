import * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../lib/browser/index.js';
import { decodeWireValue } from '../lib/browser/wire-format.js';
import { pb } from '../lib/contract/bridge-connection.js';
import { decodePayload, withAttachments } from '../lib/contract/payload-decoding.js';
import { chunkData, type NdArray, type SnakepitPool } from '../lib/index.js';
import { rejectionOf, startTestPool } from './support/pools.js';
import { poolBehindBridgeServer, poolBehindHttpHandler } from './support/served-pools.js';

// Issue #13, values both ways: a Uint8Array or Buffer argument reaches the tool as bytes, a typed
// array or an NdArray as a numpy array; nothing arrives as something else than what was sent.

const adapter = { adapter: 'binary_arguments_adapter.BinaryArgumentsAdapter' };

/** What spec/fixtures/binary_arguments_adapter.py's tools report of a value they took. */
const bytesTaken = (value: Uint8Array) => ({ type: 'bytes', length: value.byteLength, value: new Uint8Array(value) });
const arrayTaken = (dtype: string, shape: number[], value: NdArray['data']) => ({
  type: 'ndarray',
  dtype,
  shape,
  writable: true,
  value: { dtype, shape, data: value },
});

/** Each argument, and what the tool that takes any value reports of it. */
const CASES: readonly (readonly [string, unknown, unknown])[] = [
  ['a Uint8Array', new Uint8Array([0, 1, 255]), bytesTaken(new Uint8Array([0, 1, 255]))],
  ['a Buffer', Buffer.from('héllo'), bytesTaken(Buffer.from('héllo'))],
  ['a view into a larger buffer', new Uint8Array(new ArrayBuffer(16), 3, 5).fill(7), bytesTaken(new Uint8Array(5).fill(7))],
  ['a Float32Array', new Float32Array([0.5, -0, 3]), arrayTaken('float32', [3], new Float32Array([0.5, -0, 3]))],
  ['a BigInt64Array', new BigInt64Array([2n ** 60n, -1n]), arrayTaken('int64', [2], new BigInt64Array([2n ** 60n, -1n]))],
  ['an Int16Array', new Int16Array([-3, 4]), arrayTaken('int16', [2], new Int16Array([-3, 4]))],
  [
    'an NdArray',
    { dtype: 'float64', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) },
    arrayTaken('float64', [2, 2], new Float64Array([1, 2, 3, 4])),
  ],
  ['a bool NdArray', { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }, arrayTaken('bool', [2], new Uint8Array([1, 0]))],
  [
    'binary values at any depth',
    { a: [1, { b: new Uint8Array([9]) }], c: new Uint32Array([5]) },
    {
      a: [{ type: 'int', value: 1 }, { b: bytesTaken(new Uint8Array([9])) }],
      c: arrayTaken('uint32', [1], new Uint32Array([5])),
    },
  ],
  ['a string that looks like a placeholder', '\u0000snakepit-attachment:0:0', { type: 'str', value: '\u0000snakepit-attachment:0:0' }],
];

/** Binary values the pool and the browser client refuse before sending anything, and the start of the message, naming where each is. */
const REFUSED: readonly (readonly [Record<string, unknown>, RegExp])[] = [
  [{ value: new DataView(new ArrayBuffer(2)) }, /^arguments\.value is a DataView, which cannot be sent/],
  [{ value: new ArrayBuffer(2) }, /^arguments\.value is a ArrayBuffer, which cannot be sent/],
  [
    { value: { dtype: 'float32', shape: [3], data: new Float32Array(2) } },
    /^arguments\.value is an NdArray of shape \[3\] holding 2 values/,
  ],
  [
    { value: { dtype: 'float32', shape: [1], data: new Float64Array(1) } },
    /^arguments\.value is an NdArray of dtype float32 whose data is a Float64Array/,
  ],
  [{ value: { dtype: 'complex64', shape: [1], data: new Float64Array(1) } }, /^arguments\.value is an NdArray of dtype "complex64"/],
  // Shapes numpy cannot make, whose sizes still multiply to the data's length.
  [
    { value: { dtype: 'float64', shape: [0, 2 ** 50, 2 ** 50], data: new Float64Array(0) } },
    /^arguments\.value is an NdArray of shape \[0,1125899906842624,1125899906842624\], which numpy cannot make/,
  ],
  [
    { value: { dtype: 'uint8', shape: new Array<number>(65).fill(1), data: new Uint8Array(1) } },
    /^arguments\.value is an NdArray of 65 dimensions, over numpy's 64/,
  ],
  [{ x: { y: [1, new DataView(new ArrayBuffer(2))] } }, /^arguments\.x\.y\[1\] is a DataView, which cannot be sent/],
];

describe('binary arguments through the pool', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ ...adapter, size: 1 }));
  });
  afterAll(() => pool.close());

  it.each(CASES)('%s arrives as what it was, in a unary call and a stream', async (_, value, taken) => {
    expect(await pool.execute('take_any', { value })).toEqual(taken);
    expect(await lastValueFrom(pool.stream('stream_back', { value }).pipe(chunkData(), toArray()))).toEqual([taken]);
  });

  it('a bytes parameter takes a Uint8Array, and base64 text as before', async () => {
    expect(await pool.execute('take_bytes', { payload: new Uint8Array([1, 2]) })).toEqual(bytesTaken(new Uint8Array([1, 2])));
    expect(await pool.execute('take_bytes', { payload: 'AQI=' })).toEqual(bytesTaken(new Uint8Array([1, 2])));
  });

  it('an array parameter takes a typed array or an NdArray, and a JSON list as before', async () => {
    expect(await pool.execute('take_array', { values: new Int32Array([1, 2]) })).toEqual(arrayTaken('int32', [2], new Int32Array([1, 2])));
    expect(await pool.execute('take_array', { values: [1.5, 2] })).toEqual(arrayTaken('float64', [2], new Float64Array([1.5, 2])));
    // An annotation that names a dtype converts to it.
    expect(await pool.execute('take_float32', { values: new Float64Array([0.5]) })).toEqual(
      arrayTaken('float32', [1], new Float32Array([0.5])),
    );
  });

  it('lists of bytes and dicts of arrays take them inside', async () => {
    const result = await pool.execute('take_containers', {
      blobs: [new Uint8Array([1]), Buffer.from([2])],
      arrays: { x: new Float32Array([1]) },
    });
    expect(result).toEqual({
      blobs: [bytesTaken(new Uint8Array([1])), bytesTaken(new Uint8Array([2]))],
      arrays: { x: arrayTaken('float32', [1], new Float32Array([1])) },
    });
  });

  it.each([
    ['take_text', { text: new Uint8Array([1]) }, /^arguments\["text"\] is bytes, which its annotation does not take/],
    [
      'take_bytes',
      { payload: new Float32Array([1]) },
      /^take_bytes\(\): argument 'payload' should be bytes \(a Uint8Array\), got an array \(float32, shape \[1\]\)$/,
    ],
    [
      'take_array',
      { values: Buffer.from('x') },
      /^take_array\(\): argument 'values' should be an array \(a typed array or an NdArray\), got bytes \(length 1\)$/,
    ],
  ])('%s refuses %j with invalid_arguments naming where it is', async (tool, args, message) => {
    const error = await rejectionOf(pool.execute(tool, args));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(message);
  });

  it.each(REFUSED)('refuses %s before anything is sent', async (args, message) => {
    const error = await rejectionOf(pool.execute('take_any', args));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(message);
  });

  it('counts binary arguments in maxArgumentBytes', async () => {
    const error = await rejectionOf(pool.execute('take_any', { value: new Uint8Array(pool.limits.maxArgumentBytes) }));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(/binary values included/);
  });
});

describe('binary arguments through a bridge server', () => {
  const bridge = poolBehindBridgeServer(adapter);

  function execute(tool: string, json: string, attachments: InstanceType<typeof pb.Attachment>[]): Promise<unknown> {
    const request = new pb.ExecuteToolRequest({ tool_name: tool, arguments: Buffer.from(json), attachments });
    return new Promise((resolve, reject) =>
      bridge.client.ExecuteTool(request, (error, response) =>
        error
          ? reject(error)
          : resolve(withAttachments(decodePayload(response!.encoding, response!.result, undefined), response!.attachments)),
      ),
    );
  }

  it("relays a client's attachments to the worker", async () => {
    const placeholder = '\u0000snakepit-attachment:abc:0';
    const attachments = [
      new pb.Attachment({ data: Buffer.from([4, 5]), encoding: pb.Encoding.ENCODING_BYTES, placeholder }),
      new pb.Attachment({
        data: Buffer.from(new Float32Array([1.5]).buffer),
        encoding: pb.Encoding.ENCODING_NDARRAY,
        array: new pb.ArrayInfo({ dtype: 'float32', shape: [1] }),
        placeholder: `${placeholder}1`,
      }),
    ];
    const json = JSON.stringify({ value: { b: placeholder, a: `${placeholder}1` } });
    expect(await execute('take_any', json, attachments)).toEqual({
      b: bytesTaken(new Uint8Array([4, 5])),
      a: arrayTaken('float32', [1], new Float32Array([1.5])),
    });
  });

  it('refuses an attachment whose placeholder the arguments do not hold, with invalid_arguments', async () => {
    const attachments = [new pb.Attachment({ data: Buffer.from([1]), encoding: pb.Encoding.ENCODING_BYTES, placeholder: 'elsewhere' })];
    await expect(execute('take_any', '{"value": 1}', attachments)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('binary arguments through the HTTP handler and the browser client', () => {
  const http = poolBehindHttpHandler(adapter);

  it.each(CASES)('%s arrives as what it was, in a unary call and a stream', async (_, value, taken) => {
    const client = createHttpClient({ baseUrl: http.baseUrl });
    expect(await client.execute('take_any', { value })).toEqual(taken);
    expect(await lastValueFrom(client.stream('stream_back', { value }).pipe(chunkData(), toArray()))).toEqual([taken]);
  });

  it.each(REFUSED)('the client refuses %s before anything is sent, as the pool does', async (args, message) => {
    const client = createHttpClient({ baseUrl: http.baseUrl, fetch: () => Promise.reject(new Error('no request expected')) });
    for (const call of [client.execute('take_any', args), lastValueFrom(client.stream('stream_back', args))]) {
      const error = await rejectionOf(call);
      expect(error.code).toBe('invalid_arguments');
      expect(error.message).toMatch(message);
    }
  });

  it('the client quotes at most 64 characters of a long dtype or shape it refuses, as the pool does', async () => {
    const client = createHttpClient({ baseUrl: http.baseUrl, fetch: () => Promise.reject(new Error('no request expected')) });
    const cases = [
      [
        { dtype: 'x'.repeat(100_000), shape: [1], data: new Uint8Array(1) },
        /^arguments\.value is an NdArray of dtype "x{64}…", which is none of /,
      ],
      [
        { dtype: 'uint8', shape: new Array<number>(20_000).fill(7), data: new Uint8Array(1) },
        /^arguments\.value is an NdArray of shape \[(7,){31}7… holding 1 values$/,
      ],
    ] as const;
    for (const [value, message] of cases) {
      for (const call of [http.pool.execute('take_any', { value }), client.execute('take_any', { value })]) {
        const error = await rejectionOf(call);
        expect(error.code).toBe('invalid_arguments');
        expect(error.message).toMatch(message);
      }
    }
  });

  it('refuses an ndarray whose bytes are not a whole number of its values, rather than dropping the rest', async () => {
    const response = await fetch(`${http.baseUrl}/execute/take_any`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      // 5 bytes: one float32 and a byte over.
      body: JSON.stringify({
        args: { value: Buffer.alloc(5).toString('base64') },
        binaries: [{ path: ['value'], encoding: 'ndarray', dtype: 'float32', shape: [1] }],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'invalid_arguments',
      message: expect.stringMatching(/^binaries: a float32 array of 5 bytes, not a whole number of 4-byte values/),
    });
    // The browser client decodes the arrays the server sends with the same function.
    expect(() => decodeWireValue(Buffer.alloc(6).toString('base64'), { encoding: 'ndarray', dtype: 'float64', shape: [1] })).toThrow(
      'a float64 array of 6 bytes, not a whole number of 8-byte values',
    );
  });

  it('reads an ndarray whose bytes a base64 decoder returned at an offset its elements cannot view (inside a shared buffer)', () => {
    const inPool = (text: string) => {
      const bytes = Buffer.from(text, 'base64');
      const shared = new Uint8Array(bytes.byteLength + 1);
      shared.set(bytes, 1);
      return shared.subarray(1);
    };
    const text = Buffer.from(new Float64Array([1.5, -2]).buffer).toString('base64');
    expect(decodeWireValue(text, { encoding: 'ndarray', dtype: 'float64', shape: [2] }, undefined, inPool)).toEqual({
      dtype: 'float64',
      shape: [2],
      data: new Float64Array([1.5, -2]),
    });
  });

  it('refuses binaries that name no base64 text in args', async () => {
    const response = await fetch(`${http.baseUrl}/execute/take_any`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ args: { value: 1 }, binaries: [{ path: ['value'], encoding: 'bytes' }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(/^binaries: /) });
  });
});

/**
 * Bounds on what a caller sends: ids (tool names, session ids, call ids),
 * the nesting and the size of arguments. Past them a call fails at once
 * with invalid_arguments, before anything reaches a worker, on every path
 * (pool, bridge server), and no error quotes unbounded input.
 */
import * as grpc from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { createBridgeServer, createPool, type BridgeServer, type SnakepitPool } from '../lib/index.js';
import { FIXTURES, rejectionOf, startTestPool } from './support/pools.js';

type Client = InstanceType<typeof pb.BridgeServiceClient>;

/** `{"a": {"a": ... 1}}`, `depth` objects deep (the outermost counts). */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return { a: value };
}

/** The same as JSON text, built without recursion. */
function nestedJson(depth: number): Buffer {
  return Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

/** Every way the pool runs a call, each settled to its error. */
function everyPath(pool: SnakepitPool, tool: string, args: Record<string, unknown> | undefined, options = {}) {
  return {
    execute: () => rejectionOf(pool.execute(tool, args, options)),
    stream: () => rejectionOf(lastValueFrom(pool.stream(tool, args, options))),
    executeStream: () => rejectionOf(pool.executeStream(tool, args, () => undefined, options)),
    iterate: () => rejectionOf(pool.iterate(tool, args, options).next()),
  };
}

describe('the pool refuses input past its bounds at once, on every path, quoting little of it', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('reports its limits: maxIdLength 256, maxArgumentDepth 128, maxArgumentBytes 16 MiB by default', () => {
    expect(pool.limits).toEqual({ maxIdLength: 256, maxArgumentDepth: 128, maxArgumentBytes: 16 * 1024 * 1024 });
  });

  it.each([
    ['a 200 KiB tool name', 'x'.repeat(200 * 1024), undefined],
    ['a 257-character tool name', 'x'.repeat(257), undefined],
    ['a 257-character sessionId', 'echo', 's'.repeat(257)],
    ['a 4 MiB sessionId', 'echo', 's'.repeat(4 * 1024 * 1024)],
  ])('%s: invalid_arguments, with a message under 300 characters', async (_, tool, sessionId) => {
    const calls = pool.stats().calls;
    for (const [path, run] of Object.entries(everyPath(pool, tool, { value: 1 }, sessionId === undefined ? {} : { sessionId }))) {
      const started = performance.now();
      const error = await run();
      expect({ path, code: error.code }).toEqual({ path, code: 'invalid_arguments' });
      expect(error.message.length).toBeLessThan(300);
      expect(error.message).toMatch(/over the 256-character limit/);
      expect(performance.now() - started).toBeLessThan(100);
    }
    expect(pool.stats().calls).toBe(calls);
  });

  it('serves ids of exactly maxIdLength characters', async () => {
    await expect(pool.execute('echo', { value: 1 }, { sessionId: 's'.repeat(256) })).resolves.toBe(1);
    const unknown = await rejectionOf(pool.execute('t'.repeat(256)));
    expect(unknown.code).toBe('tool_not_found');
    // The worker's message quotes the name cut short.
    expect(unknown.message).toMatch(/^no tool named 't{64}'… \(256 characters\) in test_adapter\.TestAdapter$/);
  });

  it("quotes at most 64 characters of an argument's key, in the pool's refusals and the worker's", async () => {
    const key = 'k'.repeat(100_000);
    const inNode = await rejectionOf(pool.execute('echo', { value: { [key]: [Number.NaN] } }));
    expect(inNode.code).toBe('invalid_arguments');
    expect(inNode.message).toMatch(/^arguments\.value\.k{64}…\[0\] is NaN/);
    const inPython = await rejectionOf(pool.execute('add', { a: 1, b: 2, [key]: 3 }));
    expect(inPython.code).toBe('invalid_arguments');
    expect(inPython.message).toMatch(/unexpected argument 'k{64}…'/);
    expect(inPython.message.length).toBeLessThan(300);
  });

  it('refuses arguments nested deeper than maxArgumentDepth, even thousands deep, at once and never with a RangeError', async () => {
    await expect(pool.execute('echo', { value: nested(127) })).resolves.toEqual(nested(127));
    const calls = pool.stats().calls;
    for (const depth of [129, 2_000, 100_000]) {
      for (const [path, run] of Object.entries(everyPath(pool, 'echo', nested(depth)))) {
        const started = performance.now();
        const error = await run();
        expect({ path, depth, code: error.code }).toEqual({ path, depth, code: 'invalid_arguments' });
        expect(error.message).toContain('deeper than 128 levels');
        expect(error.message.length).toBeLessThan(400);
        expect(performance.now() - started).toBeLessThan(500);
      }
    }
    expect(pool.stats().calls).toBe(calls);
  });

  it('checks what a toJSON returns too', async () => {
    const deep = { value: { toJSON: () => nested(500) } };
    expect((await rejectionOf(pool.execute('echo', deep))).code).toBe('invalid_arguments');
  });

  it('refuses arguments over maxArgumentBytes as encoded JSON, before anything is sent', async () => {
    const calls = pool.stats().calls;
    const error = await rejectionOf(pool.execute('echo', { value: 'x'.repeat(16 * 1024 * 1024) }));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(/are 16777228 bytes as JSON, over the 16777216-byte limit/);
    expect(pool.stats().calls).toBe(calls);
  });
});

describe('the bounds as pool options', () => {
  it('are refused when not positive integers, naming the option', async () => {
    for (const option of ['maxIdLength', 'maxArgumentDepth', 'maxArgumentBytes']) {
      for (const value of [0, -1, 1.5, Number.NaN, '8']) {
        await expect(createPool({ adapter: 'test_adapter.TestAdapter', [option]: value })).rejects.toMatchObject({
          code: 'invalid_arguments',
          message: expect.stringContaining(`\`${option}\``),
        });
      }
    }
  });

  it('apply as set', async () => {
    const { pool } = await startTestPool({ maxIdLength: 8, maxArgumentDepth: 3, maxArgumentBytes: 64 });
    try {
      expect((await rejectionOf(pool.execute('echo', { value: 1 }, { sessionId: '123456789' }))).code).toBe('invalid_arguments');
      await expect(pool.execute('echo', { value: [[1]] }, { sessionId: '12345678' })).resolves.toEqual([[1]]);
      expect((await rejectionOf(pool.execute('echo', { value: [[[1]]] }))).message).toContain('deeper than 3 levels');
      expect((await rejectionOf(pool.execute('echo', { value: 'x'.repeat(60) }))).message).toContain('over the 64-byte limit');
    } finally {
      await pool.close();
    }
  });
});

describe('the bridge server applies the same bounds to its clients', () => {
  let pool: SnakepitPool;
  let server: BridgeServer;
  let client: Client;

  beforeAll(async () => {
    pool = await createPool({ adapter: 'test_adapter.TestAdapter', size: 1, pythonPath: FIXTURES, onLog: () => undefined });
    server = await createBridgeServer(pool);
    client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 128 * 1024 * 1024,
    });
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await pool.close();
  });

  function unary(request: InstanceType<typeof pb.ExecuteToolRequest>): Promise<grpc.ServiceError | null> {
    return new Promise((resolve) => client.ExecuteTool(request, { deadline: Date.now() + 10_000 }, (error) => resolve(error)));
  }

  function stream(request: InstanceType<typeof pb.ExecuteToolRequest>): Promise<{ chunks: number; error: grpc.ServiceError | undefined }> {
    return new Promise((resolve) => {
      let chunks = 0;
      let error: grpc.ServiceError | undefined;
      const call = client.ExecuteStreamingTool(request, { deadline: Date.now() + 10_000 });
      call.on('data', () => (chunks += 1));
      call.on('error', (failure: grpc.ServiceError) => (error = failure));
      call.on('end', () => resolve({ chunks, error }));
    });
  }

  it.each([
    ['a 200 KiB tool name', { tool_name: 'x'.repeat(200 * 1024) }],
    ['a 257-character tool name', { tool_name: 'x'.repeat(257) }],
    ['a 4 MiB session id', { tool_name: 'count', session_id: 's'.repeat(4 * 1024 * 1024) }],
    ['a 4 MiB call id', { tool_name: 'count', call_id: 'c'.repeat(4 * 1024 * 1024) }],
  ])('%s: INVALID_ARGUMENT at once, with short details, without taking a worker', async (_, fields) => {
    const calls = pool.stats().calls;
    const request = new pb.ExecuteToolRequest({ arguments: Buffer.from('{"n": 3}'), ...fields });
    for (const error of [await unary(request), (await stream(request)).error]) {
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details.length).toBeLessThan(400);
    }
    expect(pool.stats().calls).toBe(calls);
  });

  it('quotes an unknown tool name cut short', async () => {
    const error = await unary(new pb.ExecuteToolRequest({ tool_name: 'y'.repeat(256) }));
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
    // The details end with the hint, which lists the adapter's tools.
    expect(error?.details).toMatch(/^no tool named "y{64}"… \(256 characters\) \(hint: available tools: /);
  });

  it('makes chunk ids of a call id up to maxIdLength characters', async () => {
    const callId = 'c'.repeat(256);
    const { chunks, error } = await stream(
      new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from('{"n": 3}'), call_id: callId }),
    );
    expect(error).toBeUndefined();
    expect(chunks).toBe(4);
  });

  it('refuses arguments nested deeper than maxArgumentDepth, or over maxArgumentBytes, before parsing them', async () => {
    const calls = pool.stats().calls;
    await expect(pool.execute('echo', { value: 1 })).resolves.toBe(1);
    for (const json of [nestedJson(129), nestedJson(1_000_000), Buffer.from(`{"value": "${'x'.repeat(16 * 1024 * 1024)}"}`)]) {
      const started = performance.now();
      for (const error of [
        await unary(new pb.ExecuteToolRequest({ tool_name: 'echo', arguments: json })),
        (await stream(new pb.ExecuteToolRequest({ tool_name: 'count', arguments: json }))).error,
      ]) {
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error?.details).toMatch(/deeper than 128 levels|over the 16777216-byte limit/);
      }
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    // Well past the bound, the server refuses the message as it arrives, before buffering it.
    const huge = await unary(new pb.ExecuteToolRequest({ tool_name: 'echo', arguments: Buffer.alloc(60 * 1024 * 1024, 0x20) }));
    expect(huge?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(pool.stats().calls).toBe(calls + 1);
    // 128 deep is within the bound: it reaches the tool.
    const deepest = new pb.ExecuteToolRequest({ tool_name: 'echo', arguments: Buffer.from(`{"value":${nestedJson(127).toString()}}`) });
    expect(await unary(deepest)).toBeNull();
  });
});

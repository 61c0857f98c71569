import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { pb } from '../lib/contract/bridge-connection.js';
import { createBridgeServer, createPool, SnakepitError, type HostTool, type HostToolContext, type SnakepitPool } from '../lib/index.js';
import { FIXTURES, markerEvents, markerPath, nextEvent, rejectionOf, waitUntil } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const ADAPTER = 'host_tools_adapter.HostToolsAdapter';

/** Resolves with what `trigger` hands it: for events that happen in a host tool. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** The host tools of these specs, with what they saw. */
function hostTools() {
  const seen: { args: Record<string, unknown>; context: HostToolContext }[] = [];
  const slowStarted = deferred<void>();
  const slowAborted = deferred<unknown>();
  const tools: Record<string, HostTool> = {
    add: (args, context) => {
      seen.push({ args, context });
      return (args['a'] as number) + (args['b'] as number);
    },
    explode: (args) => {
      throw new TypeError(`exploded ${String(args['why'])}`);
    },
    whoami: async (_args, context) => {
      await Promise.resolve();
      return { sessionId: context.sessionId ?? null, callId: context.callId, aborted: context.signal.aborted };
    },
    slow: (_args, { signal }) => {
      slowStarted.resolve();
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          slowAborted.resolve(signal.reason);
          reject(signal.reason as Error);
        }),
      );
    },
    unsendable: () => BigInt(1),
    buffer: () => Buffer.from('ab'),
  };
  return { tools, seen, slowStarted, slowAborted };
}

describe('host tools: Python tools call Node functions registered with createPool({ hostTools })', () => {
  let pool: SnakepitPool;
  let host: ReturnType<typeof hostTools>;

  beforeAll(async () => {
    host = hostTools();
    pool = await createPool({ adapter: ADAPTER, size: 1, pythonPath: FIXTURES, hostTools: host.tools, onLog: () => undefined });
  });
  afterAll(() => pool?.close());

  it("a sync tool calls one by Snakepit's name, ctx.call_elixir_tool, and gets its result", async () => {
    const started = nextEvent(pool, 'call_started', (event) => event.tool === 'add_on_host');
    await expect(pool.execute('add_on_host', { a: 2, b: 3 }, { sessionId: 'session-1' })).resolves.toBe(5);
    const { callId } = await started;
    const [call] = host.seen.splice(0);
    expect(call?.args).toEqual({ a: 2, b: 3 });
    expect(call?.context).toMatchObject({ sessionId: 'session-1', callId });
    expect(call?.context.signal.aborted).toBe(false);
  });

  it("the session context lists them, under Snakepit's name and ours", async () => {
    const names = ['add', 'buffer', 'explode', 'slow', 'unsendable', 'whoami'];
    await expect(pool.execute('host_tool_names')).resolves.toEqual({ elixir_tools: names, host_tools: names });
  });

  it('an async tool awaits one; an async host tool (a Promise) answers too', async () => {
    await expect(pool.execute('async_add_on_host', { a: 40, b: 2 })).resolves.toBe(42);
    await expect(pool.execute('session_of_host_call', {}, { sessionId: 's-9' })).resolves.toMatchObject({
      sessionId: 's-9',
      callId: expect.any(String),
      aborted: false,
    });
  });

  it('sync and async streaming tools call them between chunks', async () => {
    const sync = await lastValueFrom(pool.stream<number>('stream_from_host', { n: 3 }).pipe(toArray()));
    expect(sync.slice(0, 3).map((chunk) => chunk.data)).toEqual([100, 101, 102]);
    expect(sync[3]?.isFinal).toBe(true);
    const chunks: number[] = [];
    await pool.executeStream<number>('async_stream_from_host', { n: 2 }, (chunk) => {
      if (!chunk.isFinal) chunks.push(chunk.data);
    });
    expect(chunks).toEqual([1000, 1001]);
    host.seen.length = 0;
  });

  it("a host tool's error raises in Python as a HostToolError (a RuntimeError) with the Node error's message", async () => {
    await expect(pool.execute('failing_host_tool')).resolves.toEqual({
      exception: 'HostToolError',
      runtime_error: true,
      message: 'exploded on purpose',
      error_type: 'TypeError',
    });
    const error = await rejectionOf(pool.execute('raise_from_host_tool'));
    expect(error).toMatchObject({
      code: 'python_error',
      pythonType: 'snakepit_bridge.host_tools.HostToolError',
      message: 'exploded let it propagate',
    });
  });

  it('a host tool whose result JSON cannot carry raises in Python instead of arriving changed', async () => {
    await expect(pool.execute('unsendable_result')).resolves.toEqual({
      message: "host tool 'unsendable' returned a value JSON cannot carry: the result is a BigInt, which JSON cannot represent",
      error_type: 'TypeError',
    });
  });

  it('a host tool returning a Buffer raises in Python rather than sending {"type": "Buffer", ...}', async () => {
    await expect(pool.execute('host_tool_outcome', { name: 'buffer' })).resolves.toEqual({
      exception: 'HostToolError',
      message: `host tool 'buffer' returned a value JSON cannot carry: the result is a Buffer, which JSON would encode as {"type": "Buffer", ...}; convert it first`,
      error_type: 'TypeError',
    });
  });

  it('a host tool that is not registered raises a ValueError naming those that are, without asking Node', async () => {
    const result = await pool.execute<{ exception: string; message: string }>('unregistered_host_tool');
    expect(result.exception).toBe('HostToolNotFoundError');
    expect(result.message).toContain("no host tool named 'not_there'");
    expect(result.message).toContain('add, buffer, explode, slow, unsendable, whoami');
  });

  it("serves tools that call host tools to a bridge server's clients: the host tools are its pool's", async () => {
    const server = await createBridgeServer(pool);
    const client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
    try {
      const request = new pb.ExecuteToolRequest({ tool_name: 'add_on_host', arguments: Buffer.from('{"a": 7, "b": 8}') });
      const response = await new Promise<InstanceType<typeof pb.ExecuteToolResponse> | undefined>((resolve, reject) =>
        client.ExecuteTool(request, (error, answer) => (error ? reject(error) : resolve(answer))),
      );
      expect(JSON.parse(Buffer.from(response!.result).toString('utf8'))).toBe(15);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('cancelling the Python call aborts the signal of the host tool it waits for, and the tool sees the cancellation', async () => {
    const marker = markerPath();
    const subscription = pool.stream('wait_for_host', { marker }).subscribe();
    await host.slowStarted.promise;
    subscription.unsubscribe();
    const reason = await host.slowAborted.promise;
    expect(reason).toBeInstanceOf(SnakepitError);
    expect(reason).toMatchObject({ code: 'cancelled' });
    await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
    expect(markerEvents(marker)).toEqual(['host call cancelled', 'closed']);
    await expect(pool.execute('add_on_host', { a: 1, b: 1 })).resolves.toBe(2);
  });
});

describe("host tools on remote workers (serve), on the call's own connection", () => {
  let worker: StandaloneWorker;
  let pool: SnakepitPool;

  beforeAll(async () => {
    worker = await serveWorker({ token: 'host-token', adapter: ADAPTER });
    pool = await createPool({ adapter: ADAPTER, endpoints: [worker.endpoint], token: 'host-token', hostTools: hostTools().tools });
  });
  afterAll(async () => {
    await pool?.close();
    await worker?.stop();
  });

  it('round-trips unary and streaming calls', async () => {
    await expect(pool.execute('add_on_host', { a: 20, b: 1 })).resolves.toBe(21);
    const chunks = await lastValueFrom(pool.stream<number>('stream_from_host', { n: 2 }).pipe(toArray()));
    expect(chunks.map((chunk) => chunk.data)).toEqual([100, 101, null]);
    await expect(pool.execute('add_many_on_host', { n: 50 })).resolves.toBe(1225);
  });
});

describe('host tools through an endpoint of serve --workers 2 (its dispatcher relays the stream both ways)', () => {
  let worker: StandaloneWorker;
  let pool: SnakepitPool;
  let host: ReturnType<typeof hostTools>;

  beforeAll(async () => {
    host = hostTools();
    worker = await serveWorker({ token: 'host-token', adapter: ADAPTER, extraArgs: ['--workers', '2'] });
    pool = await createPool({ adapter: ADAPTER, endpoints: [worker.endpoint], token: 'host-token', hostTools: host.tools });
  });
  afterAll(async () => {
    await pool?.close();
    await worker?.stop();
  });

  it("round-trips unary and streaming calls, two at once, and a host tool's error", async () => {
    expect(pool.size).toBe(2);
    const [sum, chunks] = await Promise.all([
      pool.execute('add_many_on_host', { n: 50 }),
      lastValueFrom(pool.stream<number>('stream_from_host', { n: 3 }).pipe(toArray())),
    ]);
    expect(sum).toBe(1225);
    expect(chunks.map((chunk) => chunk.data)).toEqual([100, 101, 102, null]);
    await expect(pool.execute('session_of_host_call', {}, { sessionId: 's-2' })).resolves.toMatchObject({
      sessionId: 's-2',
      aborted: false,
    });
    await expect(pool.execute('failing_host_tool')).resolves.toMatchObject({ exception: 'HostToolError', message: 'exploded on purpose' });
  });

  it('cancelling the call aborts the signal of the host tool it waits for, through the dispatcher', async () => {
    const marker = markerPath();
    const subscription = pool.stream('wait_for_host', { marker }).subscribe();
    await host.slowStarted.promise;
    subscription.unsubscribe();
    await expect(host.slowAborted.promise).resolves.toMatchObject({ code: 'cancelled' });
    await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
    expect(markerEvents(marker)).toEqual(['host call cancelled', 'closed']);
    await expect(pool.execute('add_on_host', { a: 1, b: 1 })).resolves.toBe(2);
  });
});

describe('host tools whose answers would not fit in a message (maxMessageBytes)', () => {
  const MAX_MESSAGE_BYTES = 256 * 1024;
  let pool: SnakepitPool;

  beforeAll(async () => {
    pool = await createPool({
      adapter: ADAPTER,
      size: 1,
      pythonPath: FIXTURES,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      onLog: () => undefined,
      hostTools: {
        large: ({ size }) => 'x'.repeat(size as number),
        longError: ({ size }) => {
          throw new RangeError('y'.repeat(size as number));
        },
      },
    });
  });
  afterAll(() => pool?.close());

  it('a result over the limit raises a HostToolError in Python saying so, and the call goes on', async () => {
    const outcome = await pool.execute<{ exception: string; message: string; error_type: string }>('host_tool_outcome', {
      name: 'large',
      arguments: { size: MAX_MESSAGE_BYTES },
    });
    expect(outcome).toMatchObject({ exception: 'HostToolError', error_type: 'SnakepitError' });
    expect(outcome.message).toMatch(/^host tool 'large' returned 262146 bytes of JSON, over the pool's maxMessageBytes \(262144\)/);
    await expect(pool.execute('host_tool_outcome', { name: 'large', arguments: { size: 1000 } })).resolves.toEqual({
      result: 'x'.repeat(1000),
    });
  });

  it('arguments over the limit raise a ValueError in Python before they are sent, and the call goes on', async () => {
    const outcome = await pool.execute<{ exception: string; message: string }>('host_tool_with_large_arguments', {
      name: 'large',
      size: MAX_MESSAGE_BYTES,
    });
    expect(outcome.exception).toBe('ValueError');
    expect(outcome.message).toMatch(/^arguments of host tool 'large' are \d+ bytes of JSON, over the \d+-byte message limit/);
    await expect(pool.execute('host_tool_with_large_arguments', { name: 'large', size: 10 })).resolves.toEqual({ result: 'x' });
  });

  it("an error's message is cut to 2 KiB, marked where cut, rather than failing the call", async () => {
    const outcome = await pool.execute<{ exception: string; message: string; error_type: string }>('host_tool_outcome', {
      name: 'longError',
      arguments: { size: MAX_MESSAGE_BYTES },
    });
    expect(outcome).toMatchObject({ exception: 'HostToolError', error_type: 'RangeError' });
    expect(outcome.message).toMatch(/^y+… \[cut: [\d,]+ more characters\]$/);
    expect(Buffer.byteLength(outcome.message)).toBeLessThanOrEqual(2048);
  });
});

describe('a pool without host tools', () => {
  it('runs calls on the plain methods, where a tool asking for a host tool gets a ValueError', async () => {
    const pool = await createPool({ adapter: ADAPTER, size: 1, pythonPath: FIXTURES, onLog: () => undefined });
    try {
      await expect(pool.execute('host_tool_names')).resolves.toEqual({ elixir_tools: [], host_tools: [] });
      const error = await rejectionOf(pool.execute('add_on_host', { a: 1, b: 2 }));
      expect(error).toMatchObject({ code: 'python_error', pythonType: 'snakepit_bridge.host_tools.HostToolNotFoundError' });
      expect(error.message).toContain('createPool({ hostTools })');
    } finally {
      await pool.close();
    }
  });

  it('refuses hostTools that are not functions', async () => {
    await expect(
      createPool({ adapter: ADAPTER, pythonPath: FIXTURES, hostTools: { add: 'not a function' as unknown as HostTool } }),
    ).rejects.toMatchObject({ code: 'invalid_arguments', message: expect.stringContaining('host tool "add" must be a function') });
  });
});

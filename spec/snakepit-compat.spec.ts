import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type SnakepitPool } from '../lib/index.js';
import { FIXTURES, markerEvents, markerPath, nextEvent, rejectionOf, waitUntil } from './support/pools.js';

const ADAPTER = 'snakepit_style.showcase_adapter.ShowcaseStyleAdapter';

/** The handler tools of spec/fixtures/snakepit_style, which its execute_tool serves. */
const HANDLER_TOOLS = [
  'ping',
  'multiply',
  'error_demo',
  'telemetry_demo',
  'serialization_demo',
  'set_counter',
  'get_counter',
  'cleanup',
  'stream_progress',
  'stream_fibonacci',
];
const DECORATED_TOOLS = ['adapter_info', 'echo', 'stream_data', 'log_something', 'call_elixir_demo', 'composite'];

describe('an adapter written for Snakepit 0.13, through the pool, unchanged', () => {
  let pool: SnakepitPool;
  const logs: string[] = [];
  const marker = markerPath();

  beforeAll(async () => {
    pool = await createPool({
      adapter: ADAPTER,
      size: 1,
      pythonPath: FIXTURES,
      env: { SNAKEPIT_STYLE_MARKER: marker, SNAKEPIT_LOG_LEVEL: 'INFO' },
      onLog: (line) => logs.push(line),
      hostTools: { lookup_user: ({ id }) => ({ id, name: `user-${String(id)}` }) },
    });
  });
  afterAll(() => pool?.close());

  it('lists its @tool methods and the handler tools its execute_tool serves', () => {
    const tools = new Map(pool.tools().map((tool) => [tool.name, tool]));
    expect([...tools.keys()].sort()).toEqual([...HANDLER_TOOLS, ...DECORATED_TOOLS].sort());
    expect(tools.get('multiply')).toEqual({
      name: 'multiply',
      description: 'Multiplies two numbers.',
      supportsStreaming: false,
      parameters: [
        { name: 'a', type: 'float', required: true },
        { name: 'b', type: 'float', required: false, default: 2 },
      ],
      // A handler tool's schemas come from its function's annotations, as a method's do.
      parametersSchema: {
        title: 'MultiplyArguments',
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number', default: 2 } },
        required: ['a'],
        additionalProperties: false,
      },
      resultSchema: { type: 'number' },
    });
    expect(tools.get('stream_progress')?.supportsStreaming).toBe(true);
    // echo is both a @tool method and a handler tool: the method is listed.
    expect(tools.get('echo')?.description).toBe('Echo back provided arguments');
  });

  it('ran the async initialize() before serving, and gives each call its SessionContext', async () => {
    expect(markerEvents(marker)).toEqual(['initialize']);
    await expect(pool.execute('adapter_info', {}, { sessionId: 'web-42' })).resolves.toEqual({
      model: { loaded: true },
      registered_tools: DECORATED_TOOLS.length,
      session_id: 'web-42',
      context_class: 'SessionContext',
      is_session_context: true,
    });
  });

  it('runs handler tools through execute_tool, with the session context first', async () => {
    await expect(pool.execute('multiply', { a: 21 })).resolves.toBe(42);
    await expect(pool.execute('ping')).resolves.toEqual({ message: 'pong' });
    await pool.execute('set_counter', { value: 7 }, { sessionId: 'a' });
    await expect(pool.execute('get_counter', {}, { sessionId: 'a' })).resolves.toEqual({ value: 7, session_id: 'a' });
    await expect(pool.execute('get_counter', {}, { sessionId: 'b' })).resolves.toEqual({ value: 0, session_id: 'b' });
    await expect(pool.execute('cleanup', {}, { sessionId: 'a' })).resolves.toEqual({ removed: true });
    const error = await rejectionOf(pool.execute('error_demo', { error_type: 'value' }));
    expect(error).toMatchObject({ code: 'python_error', pythonType: 'ValueError', message: 'This is a demonstration ValueError' });
    expect((await rejectionOf(pool.execute('multiply', { c: 1 }))).code).toBe('invalid_arguments');
  });

  it("streams the adapter's own StreamChunk objects, ending at the one marked final", async () => {
    const progress = await lastValueFrom(pool.stream<{ step: number }>('stream_progress', { steps: 3 }).pipe(toArray()));
    expect(progress.map((chunk) => [chunk.data.step, chunk.isFinal])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(progress[2]?.metadata['synthetic_final']).toBeUndefined();
    const fibonacci = await lastValueFrom(pool.stream<{ value: number }>('stream_fibonacci', { count: 6 }).pipe(toArray()));
    expect(fibonacci.map((chunk) => chunk.data.value)).toEqual([0, 1, 1, 2, 3, 5]);
    // A @tool method that returns a handler's generator, as the showcase's stream_data does.
    const data = await lastValueFrom(pool.stream('stream_data', { count: 2 }).pipe(toArray()));
    expect(data.map((chunk) => chunk.isFinal)).toEqual([false, true]);
  });

  it("calls the pool's host tools as Elixir tools: ctx.elixir_tools and ctx.call_elixir_tool", async () => {
    await expect(pool.execute('call_elixir_demo', { tool_name: 'lookup_user', id: 7 })).resolves.toEqual({
      tool: 'lookup_user',
      result: { id: 7, name: 'user-7' },
      source: 'elixir',
    });
    await expect(pool.execute('call_elixir_demo', { tool_name: 'nope' })).resolves.toEqual({
      error: 'Elixir tool nope not found',
      available_tools: ['lookup_user'],
    });
  });

  it('call_tool and get_tools work as in Snakepit', async () => {
    await expect(pool.execute('composite', { a: 4 })).resolves.toEqual({
      multiplied: 8,
      tool_count: HANDLER_TOOLS.length + DECORATED_TOOLS.length,
    });
  });

  it("uses telemetry, serialization and logging_config at Snakepit's paths", async () => {
    const started = nextEvent(pool, 'call_started', (event) => event.tool === 'telemetry_demo');
    const telemetry = await pool.execute<{ correlation_id: string; telemetry_enabled: boolean }>('telemetry_demo');
    expect(telemetry).toEqual({ correlation_id: (await started).callId, telemetry_enabled: true });
    await waitUntil(() => logs.some((line) => line.includes('"event":"tool.execution.stop"')), 5_000, 'the telemetry line');

    await expect(pool.execute('serialization_demo', { values: [1.5, 2.5] })).resolves.toEqual({
      type_url: 'type.googleapis.com/snakepit.embedding',
      binary: false,
      decoded: [1.5, 2.5],
    });

    await pool.execute('log_something', { message: 'hello' });
    await waitUntil(() => logs.some((line) => line.includes('adapter says: hello')), 5_000, 'the log line');
    expect(logs.find((line) => line.includes('adapter says: hello'))).toContain('snakepit.snakepit_style.showcase_adapter');
  });

  it('runs cleanup() when the pool closes its worker', async () => {
    await pool.close();
    expect(markerEvents(marker)).toEqual(['initialize', 'cleanup']);
  });
});

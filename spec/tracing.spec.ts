import * as grpc from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import {
  chunkData,
  createBridgeServer,
  createHttpHandler,
  createPool,
  type CallOptions,
  type NdArray,
  type SnakepitPool,
  type WorkerLog,
} from '../lib/index.js';
import { postJson, serve } from './support/http.js';
import { FIXTURES, rejectionOf, startTestPool, waitUntil } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

// Registered before any pool exists, as an application registers its SDK first.
const exported = new InMemorySpanExporter();
/** Set by the spec of an SDK that throws: the sampler throws as a span starts, the processor as one ends. */
const sdkThrows = { onStart: false, onEnd: false };
const sampler: Sampler = {
  shouldSample() {
    if (sdkThrows.onStart) throw new Error('the sampler broke');
    return new AlwaysOnSampler().shouldSample();
  },
  toString: () => 'throws when told',
};
const throwsOnEnd: SpanProcessor = {
  onStart: () => {},
  onEnd: () => {
    if (sdkThrows.onEnd) throw new Error('the exporter broke');
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
new NodeTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exported), throwsOnEnd] }).register();
const tracer = trace.getTracer('spec');

/** A span of the Python worker, as spec/fixtures/traced_adapter.py's `finished_spans` reports it. */
interface PythonSpan {
  readonly name: string;
  readonly context: { traceId: string; spanId: string };
  readonly parent: { traceId: string; spanId: string } | null;
  readonly kind: string;
  readonly attributes: Record<string, unknown>;
  readonly status: string;
}

let pool: SnakepitPool;

beforeAll(async () => {
  ({ pool } = await startTestPool({ adapter: 'traced_adapter.TracedAdapter', pythonPath: FIXTURES, logLevel: 'INFO' }));
});
afterAll(() => pool.close());
beforeEach(() => exported.reset());

/** Runs `work` inside a span of the caller's, as an application's own code would. */
async function asCaller<T>(work: () => Promise<T>): Promise<{ caller: Span; result: T }> {
  const caller = tracer.startSpan('caller');
  try {
    return { caller, result: await context.with(trace.setSpan(context.active(), caller), work) };
  } finally {
    caller.end();
  }
}

/** The one span the pool made for the call, by name. */
function poolSpan(name: 'snakepit.stream' | 'snakepit.execute'): ReadableSpan {
  const found = exported.getFinishedSpans().filter((span) => span.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/**
 * The worker's tool span for a call, and the spans made inside it; the worker is asked after the call ended
 * (`from`: another pool, and the options that send the question to the process that ran the call).
 */
async function pythonSpans(
  callId: unknown,
  from: { pool: SnakepitPool; options?: CallOptions } = { pool },
): Promise<{ tool: PythonSpan; nested: PythonSpan[] }> {
  const spans = await from.pool.execute<PythonSpan[]>('finished_spans', {}, from.options ?? {});
  const tool = spans.find((span) => span.name === 'snakepit.tool' && span.attributes['snakepit.call_id'] === callId);
  expect(tool, `the worker's span of call ${String(callId)}`).toBeDefined();
  const nested = spans.filter((span) => span.parent?.spanId === tool!.context.spanId);
  return { tool: tool!, nested };
}

describe('tracing a call from the caller through Node into the Python tool', () => {
  it('a stream is one trace: caller → snakepit.stream → the tool span → spans the tool makes', async () => {
    const { caller, result } = await asCaller(() =>
      lastValueFrom(pool.stream<{ seq: number }>('count', { n: 3 }, { sessionId: 'session-7' }).pipe(toArray())),
    );
    expect(result).toHaveLength(4);

    const span = poolSpan('snakepit.stream');
    const traceId = caller.spanContext().traceId;
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'snakepit.tool': 'count',
      'snakepit.call_id': expect.any(String),
      'snakepit.session_id': 'session-7',
      'snakepit.worker_id': 'worker-1',
      'snakepit.queue_wait_ms': expect.any(Number),
      'snakepit.outcome': 'completed',
      'snakepit.chunks': 4,
      'snakepit.bytes': '[{"seq":0},{"seq":1},{"seq":2}]'.length,
    });
    expect(span.events.map((event) => event.name)).toEqual(['snakepit.first_chunk']);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);

    const { tool, nested } = await pythonSpans(span.attributes['snakepit.call_id']);
    expect(tool.context.traceId).toBe(traceId);
    expect(tool.parent).toEqual({ traceId, spanId: span.spanContext().spanId });
    expect(tool.kind).toBe('SERVER');
    expect(tool.attributes).toMatchObject({ 'snakepit.tool': 'count', 'snakepit.worker_id': 'worker-1', 'snakepit.outcome': 'completed' });
    expect(nested.map((child) => child.name)).toEqual(['library.step', 'library.step', 'library.step']);
  });

  it('an async generator runs in the tool span too, on the worker loop', async () => {
    await asCaller(() => lastValueFrom(pool.stream('async_count', { n: 2 })));

    const span = poolSpan('snakepit.stream');
    const { tool, nested } = await pythonSpans(span.attributes['snakepit.call_id']);
    expect(tool.parent?.spanId).toBe(span.spanContext().spanId);
    expect(nested.map((child) => child.name)).toEqual(['library.step', 'library.step']);
  });

  it('execute is a snakepit.execute span with the result bytes, the tool span its child', async () => {
    const { caller, result } = await asCaller(() => pool.execute<number>('add', { a: 2, b: 40 }));
    expect(result).toBe(42);

    const span = poolSpan('snakepit.execute');
    expect(span.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(span.attributes).toMatchObject({
      'snakepit.tool': 'add',
      'snakepit.outcome': 'completed',
      'snakepit.chunks': 0,
      'snakepit.bytes': 2,
    });
    const { tool, nested } = await pythonSpans(span.attributes['snakepit.call_id']);
    expect(tool.parent?.spanId).toBe(span.spanContext().spanId);
    expect(nested).toHaveLength(1);
  });

  it('calls with binary arguments and arrays inside their chunks and results are traced as any call', async () => {
    const args = { blob: new Uint8Array([1, 2, 3]), weights: new Float32Array([0.5, 1]) };
    const { caller, result } = await asCaller(() =>
      lastValueFrom(
        pool.stream<{ step: number; blob: Uint8Array; weights: NdArray }>('scaled', { ...args, n: 2 }).pipe(chunkData(), toArray()),
      ),
    );
    expect(result.map(({ blob, weights }) => [[...blob], [...(weights.data as Float32Array)]])).toEqual([
      [
        [1, 2, 3],
        [0.5, 1],
      ],
      [
        [1, 2, 3],
        [1, 2],
      ],
    ]);
    const stream = poolSpan('snakepit.stream');
    expect(stream.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(stream.attributes).toMatchObject({ 'snakepit.tool': 'scaled', 'snakepit.outcome': 'completed', 'snakepit.chunks': 3 });
    const streamed = await pythonSpans(stream.attributes['snakepit.call_id']);
    expect(streamed.tool.parent?.spanId).toBe(stream.spanContext().spanId);
    expect(streamed.nested).toHaveLength(2);

    exported.reset();
    const once = await asCaller(() => pool.execute<{ blob: Uint8Array; weights: NdArray }>('scaled_once', args));
    expect([...(once.result.weights.data as Float32Array)]).toEqual([1, 2]);
    const execute = poolSpan('snakepit.execute');
    expect(execute.parentSpanContext?.spanId).toBe(once.caller.spanContext().spanId);
    expect(execute.attributes).toMatchObject({ 'snakepit.tool': 'scaled_once', 'snakepit.outcome': 'completed' });
    const executed = await pythonSpans(execute.attributes['snakepit.call_id']);
    expect(executed.tool.parent?.spanId).toBe(execute.spanContext().spanId);
  });

  it('snakepit.bytes counts the binary values inside chunks and results (their attachments), not only the JSON around them', async () => {
    /** snakepit.bytes of a stream of one chunk and of a unary call, each holding `blob` and a 2-value float32 array inside a dict. */
    const bytesFor = async (blob: Uint8Array) => {
      const args = { blob, weights: new Float32Array([0.5, 1]) };
      exported.reset();
      await lastValueFrom(pool.stream('scaled', { ...args, n: 1 }));
      await pool.execute('scaled_once', args);
      return {
        stream: poolSpan('snakepit.stream').attributes['snakepit.bytes'],
        execute: poolSpan('snakepit.execute').attributes['snakepit.bytes'],
      };
    };
    const small = await bytesFor(new Uint8Array(3));
    const large = await bytesFor(new Uint8Array(1_003));
    // The JSON is the same (a placeholder stands for each binary value): only the attachment grew.
    expect({ stream: Number(large.stream) - Number(small.stream), execute: Number(large.execute) - Number(small.execute) }).toEqual({
      stream: 1_000,
      execute: 1_000,
    });
    expect(large.stream).toBeGreaterThan(1_003 + 8);
    expect(large.execute).toBeGreaterThan(1_003 + 8);
  });

  it('a failed call is an error on both spans, with the error code and the Python exception', async () => {
    const error = await rejectionOf(asCaller(() => lastValueFrom(pool.stream('fail_after', { n: 2 }))));
    expect(error.code).toBe('python_error');

    const span = poolSpan('snakepit.stream');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'python_error: diverged' });
    expect(span.attributes).toMatchObject({ 'snakepit.outcome': 'failed', 'snakepit.error_code': 'python_error', 'snakepit.chunks': 2 });
    expect(span.attributes['snakepit.cancel_reason']).toBeUndefined();
    const exception = span.events.find((event) => event.name === 'exception');
    expect(exception?.attributes).toMatchObject({ 'exception.type': 'ValueError', 'exception.message': 'diverged' });
    expect(String(exception?.attributes?.['exception.stacktrace'])).toContain('Traceback');

    const { tool } = await pythonSpans(span.attributes['snakepit.call_id']);
    expect(tool.status).toBe('ERROR');
    expect(tool.attributes).toMatchObject({ 'snakepit.outcome': 'failed', 'snakepit.error_code': 'python_error' });
  });

  it('unsubscribing is a cancelled outcome, not an error, on both spans', async () => {
    await asCaller(() => firstValueFrom(pool.stream('ticker').pipe(take(3), toArray())));

    const span = poolSpan('snakepit.stream');
    expect(span.attributes).toMatchObject({
      'snakepit.outcome': 'cancelled',
      'snakepit.cancel_reason': 'unsubscribed',
      'snakepit.chunks': 3,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    // The worker serves the next call only once the tool has stopped: its span has ended by then.
    const { tool } = await pythonSpans(span.attributes['snakepit.call_id']);
    expect(tool.attributes['snakepit.outcome']).toBe('cancelled');
    expect(tool.status).toBe('UNSET');
  });

  it('an aborted call and a timed-out call record why they were cancelled', async () => {
    const controller = new AbortController();
    const aborted = rejectionOf(lastValueFrom(pool.stream('ticker', {}, { signal: controller.signal })));
    setTimeout(() => controller.abort(), 20);
    expect((await aborted).code).toBe('cancelled');
    const abortSpan = poolSpan('snakepit.stream');
    expect(abortSpan.attributes).toMatchObject({
      'snakepit.outcome': 'failed',
      'snakepit.error_code': 'cancelled',
      'snakepit.cancel_reason': 'aborted',
    });
    expect(abortSpan.status.code).toBe(SpanStatusCode.UNSET);

    exported.reset();
    expect((await rejectionOf(lastValueFrom(pool.stream('ticker', {}, { timeout: 50 })))).code).toBe('timeout');
    const timeoutSpan = poolSpan('snakepit.stream');
    expect(timeoutSpan.attributes).toMatchObject({ 'snakepit.error_code': 'timeout', 'snakepit.cancel_reason': 'timeout' });
    expect(timeoutSpan.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a call refused before it has a worker is a span too, with the refusal's code", async () => {
    expect((await rejectionOf(pool.execute('no_such_tool'))).code).toBe('tool_not_found');

    const span = poolSpan('snakepit.execute');
    expect(span.attributes).toMatchObject({ 'snakepit.outcome': 'failed', 'snakepit.error_code': 'tool_not_found' });
  });

  it('an SDK that throws as a span starts or ends fails no call, stalls none, and keeps no worker', async () => {
    for (const when of ['onStart', 'onEnd'] as const) {
      sdkThrows[when] = true;
      try {
        expect(await pool.execute('add', { a: 1, b: 2 })).toBe(3);
        expect((await lastValueFrom(pool.stream<{ seq: number }>('count', { n: 3 }).pipe(toArray()))).length).toBe(4);
        expect((await rejectionOf(pool.execute('no_such_tool'))).code).toBe('tool_not_found');
      } finally {
        sdkThrows[when] = false;
      }
      expect(pool.stats().busy).toBe(0);
    }
    expect(await pool.execute('add', { a: 2, b: 2 })).toBe(4);
  });

  it('a span is made per call, never per chunk', async () => {
    await lastValueFrom(pool.stream('count', { n: 500 }));

    expect(exported.getFinishedSpans().map((span) => span.name)).toEqual(['snakepit.stream']);
  });
});

describe('log records from Python', () => {
  it('reach events$ and onLog with level, logger, message, call id, tool, worker id and trace id', async () => {
    const events: unknown[] = [];
    const subscription = pool.events$.subscribe((event) => event.type === 'log' && events.push(event));
    try {
      const { caller } = await asCaller(() => pool.execute('log', { message: 'epoch 3 done', level: 'INFO' }));
      const callId = poolSpan('snakepit.execute').attributes['snakepit.call_id'];
      await expect.poll(() => events.length).toBeGreaterThan(0);
      expect(events).toEqual([
        {
          type: 'log',
          level: 'INFO',
          logger: 'traced_adapter',
          message: 'epoch 3 done',
          callId,
          tool: 'log',
          workerId: 'worker-1',
          traceId: caller.spanContext().traceId,
          time: expect.any(Number),
          at: expect.any(Number),
        },
      ]);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('logLevel sets the level the worker logs at, and onLog gets each record as text with the record', async () => {
    const lines: string[] = [];
    const records: unknown[] = [];
    const { pool: quiet } = await startTestPool({
      adapter: 'traced_adapter.TracedAdapter',
      logLevel: 'warning',
      onLog: (line, _workerId, record) => {
        lines.push(line);
        if (record !== undefined) records.push(record);
      },
    });
    try {
      await quiet.execute('log', { message: 'not at warning level', level: 'INFO' });
      await quiet.execute('log', { message: 'disk almost full', level: 'WARNING' });
      // stderr keeps its order: once the warning is in, the info record would have come before it.
      await expect.poll(() => records.length).toBe(1);
      expect(records[0]).toMatchObject({ level: 'WARNING', message: 'disk almost full', tool: 'log' });
      expect(lines.filter((line) => line.includes('not at warning level'))).toEqual([]);
      expect(lines.find((line) => line.includes('disk almost full'))).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z WARNING \[worker-1\] \[call=[\w-]+ trace=[0-9a-f]{32}\] traced_adapter: disk almost full$/,
      );
    } finally {
      await quiet.close();
    }
  });
});

describe('logLevel none', () => {
  it('starts the workers, and they make no record, as SNAKEPIT_LOG_LEVEL=none does', async () => {
    const records: WorkerLog[] = [];
    const { pool: silent } = await startTestPool({
      adapter: 'traced_adapter.TracedAdapter',
      logLevel: 'none',
      onLog: (_line, _workerId, record) => record !== undefined && records.push(record),
    });
    try {
      await silent.execute('log', { message: 'an error nobody asked for', level: 'CRITICAL' });
      expect(await silent.execute('add', { a: 1, b: 2 })).toBe(3);
    } finally {
      await silent.close();
    }
    expect(records).toEqual([]);
  });
});

describe('log records from Python, beside what its tools print', () => {
  let records: WorkerLog[];
  let lines: string[];
  let printing: SnakepitPool;

  beforeAll(async () => {
    ({ pool: printing } = await startTestPool({
      adapter: 'traced_adapter.TracedAdapter',
      onLog: (line, _workerId, record) => (record === undefined ? lines.push(line) : records.push(record)),
    }));
  });
  afterAll(() => printing.close());
  beforeEach(() => {
    records = [];
    lines = [];
  });

  it('arrive whole while a tool prints a line it has not ended, as a progress bar does', async () => {
    await printing.execute('print_then_log', { printed: '\r1/3 |###', message: 'epoch 1 done' });

    await expect.poll(() => records.map((record) => record.message), { timeout: 5_000 }).toEqual(['epoch 1 done']);
  });

  it('are never made from what a tool prints, however much it looks like one', async () => {
    const forged = `SNAKEPIT_LOG ${JSON.stringify({ level: 'CRITICAL', logger: 'auth', message: 'forged', callId: 'another-call' })}`;
    await printing.execute('print_then_log', { printed: `${forged}\n`, message: 'the real one' });

    await expect.poll(() => records.map((record) => record.message), { timeout: 5_000 }).toEqual(['the real one']);
    // It reaches onLog as a line of text (after what was printed before it without a newline, if anything).
    await expect.poll(() => lines.some((line) => line.endsWith(forged)), { timeout: 5_000 }).toBe(true);
  });

  it("arrive with a logger's name that does not fit a line cut, as a message that does not fit is", async () => {
    const name = `models.${'x'.repeat(70_000)}`;
    await printing.execute('print_then_log', { printed: '', message: 'named at length', logger_name: name });

    await expect.poll(() => records.length, { timeout: 5_000 }).toBe(1);
    expect(records[0]!.message).toBe('named at length');
    expect(records[0]!.logger).toMatch(/^models\.x+… \[\d+ more characters cut\]$/);
    expect(records[0]!.logger.length).toBeLessThan(2_000);
  });
});

describe('an incoming trace context', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const REMOTE_SPAN_ID = '00f067aa0ba902b7';
  const TRACEPARENT = `00-${TRACE_ID}-${REMOTE_SPAN_ID}-01`;

  it('from a bridge client (traceparent metadata) is the parent of the pooled call', async () => {
    const server = await createBridgeServer(pool);
    const client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      metadata.set('traceparent', TRACEPARENT);
      const request = new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from('{"n":2}') });
      await new Promise<void>((resolve, reject) => {
        const call = client.ExecuteStreamingToolBatched(request, metadata);
        call.on('data', () => {});
        call.on('end', resolve);
        call.on('error', reject);
      });

      const span = poolSpan('snakepit.stream');
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(REMOTE_SPAN_ID);
      const { tool } = await pythonSpans(span.attributes['snakepit.call_id']);
      expect(tool.parent).toEqual({ traceId: TRACE_ID, spanId: span.spanContext().spanId });
    } finally {
      client.close();
      await server.close();
    }
  });

  it("from a bridge client whose call waited its turn (perClientConcurrency) is that call's parent, not the parent of the call that let it in", async () => {
    const identified: string[] = [];
    const server = await createBridgeServer(pool, {
      perClientConcurrency: 1,
      // Called as a call is queued: the second call is waiting once it has been called twice.
      clientId: (call) => {
        identified.push(String(call.metadata.get('traceparent')[0]));
        return 'one client';
      },
    });
    const client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
    const withTrace = (traceparent: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('traceparent', traceparent);
      return metadata;
    };
    const FIRST_TRACE = TRACEPARENT.replace(TRACE_ID, 'a'.repeat(32));
    try {
      const first = client.ExecuteStreamingToolBatched(new pb.ExecuteToolRequest({ tool_name: 'ticker' }), withTrace(FIRST_TRACE));
      const firstEnded = new Promise<void>((resolve) => first.on('error', () => resolve()).on('end', resolve));
      await new Promise((resolve) => first.once('data', resolve));
      const second = new Promise<unknown>((resolve, reject) =>
        client.ExecuteTool(
          new pb.ExecuteToolRequest({ tool_name: 'add', arguments: Buffer.from('{"a":1,"b":2}') }),
          withTrace(TRACEPARENT),
          (error, response) => (error ? reject(error) : resolve(response)),
        ),
      );
      await waitUntil(() => identified.length === 2, 5_000, 'the second call to wait for its turn');
      first.cancel();
      await second;
      await firstEnded;

      expect(poolSpan('snakepit.stream').spanContext().traceId).toBe('a'.repeat(32));
      const span = poolSpan('snakepit.execute');
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(REMOTE_SPAN_ID);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('from a browser (traceparent header on the HTTP handler) reaches Python: browser → Node → Python', async () => {
    const server = await serve(createHttpHandler(pool, { tools: ['add', 'count'] }));
    try {
      const response = await postJson(`${server.baseUrl}/execute/add`, { args: { a: 1, b: 2 } }, { traceparent: TRACEPARENT });
      expect(await response.json()).toEqual({ result: 3 });
      const streamed = await postJson(`${server.baseUrl}/stream/count`, { args: { n: 2 } }, { traceparent: TRACEPARENT });
      expect(await streamed.text()).toContain('"isFinal":true');

      for (const name of ['snakepit.execute', 'snakepit.stream'] as const) {
        const span = poolSpan(name);
        expect(span.spanContext().traceId).toBe(TRACE_ID);
        expect(span.parentSpanContext?.spanId).toBe(REMOTE_SPAN_ID);
        const { tool } = await pythonSpans(span.attributes['snakepit.call_id']);
        expect(tool.parent).toEqual({ traceId: TRACE_ID, spanId: span.spanContext().spanId });
      }
    } finally {
      await server.close();
    }
  });

  it('yields to a span an instrumentation of the server already made', async () => {
    const server = await serve((req, res) => {
      // As an HTTP instrumentation does: a server span, the child of the request's traceparent.
      const serverSpan = tracer.startSpan('http.server', {}, propagation.extract(ROOT_CONTEXT, req.headers));
      res.on('close', () => serverSpan.end());
      context.with(trace.setSpan(context.active(), serverSpan), () => createHttpHandler(pool, { tools: ['add'] })(req, res));
    });
    try {
      await postJson(`${server.baseUrl}/execute/add`, { args: { a: 1, b: 2 } }, { traceparent: TRACEPARENT });
      await expect.poll(() => exported.getFinishedSpans().some((span) => span.name === 'http.server')).toBe(true);

      const serverSpan = exported.getFinishedSpans().find((span) => span.name === 'http.server')!;
      expect(poolSpan('snakepit.execute').parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
    } finally {
      await server.close();
    }
  });

  it("follows the request's traceparent, not a span of another trace left active where the server was started", async () => {
    const startup = tracer.startSpan('startup');
    const server = await context.with(trace.setSpan(context.active(), startup), () => serve(createHttpHandler(pool, { tools: ['add'] })));
    startup.end();
    try {
      // Node carries the context the server was started in into each of its requests.
      await context.with(trace.setSpan(context.active(), startup), () =>
        postJson(`${server.baseUrl}/execute/add`, { args: { a: 1, b: 2 } }, { traceparent: TRACEPARENT }),
      );

      const span = poolSpan('snakepit.execute');
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(REMOTE_SPAN_ID);
    } finally {
      await server.close();
    }
  });
});

describe('through an endpoint of serve --workers 2 (its dispatcher relays each call to a worker process)', () => {
  const TOKEN = 'traced-dispatcher-token';
  let endpoint: StandaloneWorker;
  let remote: SnakepitPool;

  beforeAll(async () => {
    endpoint = await serveWorker({ token: TOKEN, adapter: 'traced_adapter.TracedAdapter', extraArgs: ['--workers', '2'] });
    remote = await createPool({ adapter: 'traced_adapter.TracedAdapter', endpoints: [endpoint.endpoint], token: TOKEN });
  });
  afterAll(async () => {
    await remote?.close();
    await endpoint?.stop();
  });

  // Each process keeps the spans it made: a strict session sends the question to the process that ran the call.
  const session: CallOptions = { sessionId: 'traced-session', sessionAffinity: 'strict' };

  it("a span started in Node is the parent of the tool's span, for a stream and for execute", async () => {
    expect(remote.size).toBe(2);
    const { caller } = await asCaller(async () => {
      await lastValueFrom(remote.stream('count', { n: 2 }, session));
      return remote.execute('add', { a: 1, b: 2 }, session);
    });
    const traceId = caller.spanContext().traceId;
    const spans = { stream: poolSpan('snakepit.stream'), execute: poolSpan('snakepit.execute') };

    for (const [name, span] of Object.entries(spans)) {
      expect(span.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      const { tool, nested } = await pythonSpans(span.attributes['snakepit.call_id'], { pool: remote, options: session });
      expect(tool.context.traceId).toBe(traceId);
      expect(tool.parent).toEqual({ traceId, spanId: span.spanContext().spanId });
      expect(nested.map((child) => child.name)).toEqual(name === 'stream' ? ['library.step', 'library.step'] : ['library.step']);
    }
  });
});

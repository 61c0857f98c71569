import { generateKeyPairSync } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { decodePayload } from '../lib/contract/payload-decoding.js';
import { createBridgeServer, createPool, type BridgeServer, type SnakepitPool } from '../lib/index.js';
import { FIXTURES, markerEvents, markerPath, producedCount, startTestPool, valueOnceStable, waitUntil } from './support/pools.js';
import { specTempDir } from './support/temp-files.js';

type ToolChunk = InstanceType<typeof pb.ToolChunk>;
type ChunkBatch = InstanceType<typeof pb.ChunkBatch>;
type ErrorDetail = InstanceType<typeof pb.ErrorDetail>;
type Client = InstanceType<typeof pb.BridgeServiceClient>;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TOKEN = 'spec-token-0123456789';

function withToken(token = TOKEN): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function request(tool: string, args?: unknown, callId = ''): InstanceType<typeof pb.ExecuteToolRequest> {
  return new pb.ExecuteToolRequest({
    tool_name: tool,
    arguments: args === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(args)),
    call_id: callId,
  });
}

function detailOf(error: grpc.ServiceError | undefined): ErrorDetail | undefined {
  const encoded = error?.metadata?.get('snakepit-error-bin')[0];
  return encoded instanceof Buffer ? pb.ErrorDetail.deserialize(encoded) : undefined;
}

/** What spec/fixtures/bridge_client.py reports. */
interface PyChunk {
  readonly chunk_id: string;
  readonly data: unknown;
  readonly is_final: boolean;
  readonly metadata: Record<string, string>;
}
interface PyError {
  readonly status: string;
  readonly details: string;
  readonly detail: { readonly code: string; readonly message: string; readonly hint: string } | null;
}
interface PyReport {
  readonly ping: { message: string; worker_id: string; pid: number };
  readonly synthetic: { readonly chunks: PyChunk[] };
  readonly decorated: { readonly chunks: PyChunk[] };
  readonly batched: { readonly chunks: PyChunk[]; readonly messages: number };
  readonly cancel: { readonly received: number; readonly status: string | null; readonly marker: string[] };
  readonly refused: Record<string, { readonly ping: PyError; readonly stream: { readonly error?: PyError } }>;
}

interface Collected<T> {
  readonly messages: T[];
  readonly error: grpc.ServiceError | undefined;
}

/** Every message of a server stream, then its error if it failed; settles at 'end', which grpc-js emits after the messages it buffers. */
function collect<T>(call: grpc.ClientReadableStream<T>): Promise<Collected<T>> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let error: grpc.ServiceError | undefined;
    call.on('data', (message: T) => messages.push(message));
    call.on('error', (failure: grpc.ServiceError) => (error = failure));
    call.on('end', () => resolve({ messages, error }));
  });
}

function unary<R>(
  start: (callback: (error: grpc.ServiceError | null, response?: R) => void) => void,
): Promise<{ response: R | undefined; error: grpc.ServiceError | undefined }> {
  return new Promise((resolve) => start((error, response) => resolve({ response, error: error ?? undefined })));
}

/** A plaintext server on the pool and a client of it, both closed whatever happens. */
async function withServer(
  pool: SnakepitPool,
  body: (server: BridgeServer, client: InstanceType<typeof pb.BridgeServiceClient>) => Promise<void>,
): Promise<void> {
  const server = await createBridgeServer(pool);
  const client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
  try {
    await body(server, client);
  } finally {
    client.close();
    await server.close();
  }
}

function json(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** The chunks of a batched stream, unpacked as the contract says: the json_run first, its ids derived from the call id. */
function unpack(
  batches: ChunkBatch[],
  callId: string,
): { id: string; data: unknown; isFinal: boolean; metadata: Record<string, string> }[] {
  const chunks: { id: string; data: unknown; isFinal: boolean; metadata: Record<string, string> }[] = [];
  for (const batch of batches) {
    if (batch.json_run.byteLength > 0) {
      for (const data of json(batch.json_run) as unknown[])
        chunks.push({ id: `${callId}-${chunks.length}`, data, isFinal: false, metadata: {} });
    }
    for (const chunk of batch.chunks) {
      chunks.push({
        id: chunk.chunk_id,
        data: decodePayload(chunk.encoding, chunk.data, chunk.has_array ? chunk.array : undefined),
        isFinal: chunk.is_final,
        metadata: Object.fromEntries(chunk.metadata),
      });
    }
  }
  return chunks;
}

describe('createBridgeServer()', () => {
  let pool: SnakepitPool;
  let server: BridgeServer;
  let client: Client;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 2 }));
    server = await createBridgeServer(pool, { token: TOKEN, id: 'spec-bridge' });
    client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await pool?.close();
  });

  it('binds 127.0.0.1 by default, on the port the system chose', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
  });

  describe("a Python grpcio client in another process, built from the project's stubs", () => {
    it('streams, sees the decorated and the synthetic final chunks, cancels mid-stream, and is refused without the token', async () => {
      const marker = markerPath();
      const { stdout } = await promisify(execFile)(
        PYTHON,
        [join(FIXTURES, 'bridge_client.py'), JSON.stringify({ address: server.address, token: TOKEN, marker })],
        { env: { ...process.env, PYTHONPATH: join(ROOT, 'worker-python') }, timeout: 60_000 },
      );
      const report = JSON.parse(stdout) as PyReport;

      expect(report.ping).toEqual({ message: 'pong', worker_id: 'spec-bridge', pid: process.pid });

      const synthetic = report.synthetic.chunks;
      expect(synthetic.map((chunk) => chunk.chunk_id)).toEqual(['py-1-0', 'py-1-1', 'py-1-2', 'py-1-3']);
      expect(synthetic.slice(0, 3).map((chunk) => chunk.data)).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
      expect(synthetic[3]).toMatchObject({ data: null, is_final: true });
      expect(synthetic[3]!.metadata).toMatchObject({
        synthetic_final: 'true',
        tool_type: 'remote',
        worker_id: expect.stringMatching(/^worker-\d+$/),
      });
      expect(Number.isInteger(Number(synthetic[3]!.metadata.execution_time_ms))).toBe(true);

      const decorated = report.decorated.chunks;
      expect(decorated).toHaveLength(2);
      expect(decorated[1]).toMatchObject({ data: { seq: 1 }, is_final: true });
      // worker_id was set by the tool: it is kept; the keys it did not set are added.
      expect(decorated[1]!.metadata).toEqual({
        worker_id: 'set-by-tool',
        note: 'kept',
        tool_type: 'remote',
        execution_time_ms: expect.stringMatching(/^\d+$/),
      });
      expect(decorated[1]!.metadata.synthetic_final).toBeUndefined();

      const batched = report.batched;
      expect(batched.chunks).toHaveLength(51);
      expect(batched.chunks.slice(0, 50).map((chunk) => (chunk.data as { seq: number }).seq)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
      expect(batched.chunks.map((chunk) => chunk.chunk_id)).toEqual(Array.from({ length: 51 }, (_, i) => `py-2-${i}`));
      expect(batched.chunks[50]).toMatchObject({ is_final: true, metadata: { synthetic_final: 'true' } });
      expect(batched.messages).toBeLessThan(51);

      expect(report.cancel).toEqual({ received: 3, status: 'CANCELLED', marker: ['started', 'closed'] });

      for (const refusal of Object.values(report.refused)) {
        expect(refusal.ping).toMatchObject({ status: 'UNAUTHENTICATED', detail: { code: 'unauthenticated' } });
        expect(refusal.stream.error).toMatchObject({ status: 'UNAUTHENTICATED', detail: { code: 'unauthenticated' } });
      }
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });
  });

  describe('a grpc-js client', () => {
    it("answers Ping with pong, the server's identity and its pool's size as its capacity", async () => {
      const { response } = await unary<InstanceType<typeof pb.PingResponse>>((done) =>
        client.Ping(new pb.PingRequest(), withToken(), done),
      );
      expect(response?.toObject()).toEqual({ message: 'pong', worker_id: 'spec-bridge', pid: process.pid, capacity: pool.size });
    });

    it("lists the adapter's tools with their parameters and schemas", async () => {
      const { response } = await unary<InstanceType<typeof pb.ListToolsResponse>>((done) =>
        client.ListTools(new pb.ListToolsRequest(), withToken(), done),
      );
      const tools = response?.tools ?? [];
      expect(response?.adapter).toBe('test_adapter.TestAdapter');
      expect(tools.map((tool) => tool.name)).toEqual(pool.tools().map((tool) => tool.name));
      expect(tools.find((tool) => tool.name === 'count')?.toObject()).toEqual({
        name: 'count',
        description: 'Yields {seq} from start to start + n - 1',
        supports_streaming: true,
        parameters: [
          { name: 'n', type: 'int', required: true, default_json: '' },
          { name: 'start', type: 'int', required: false, default_json: '0' },
        ],
        parameters_schema_json: expect.any(String),
        result_schema_json: expect.any(String),
      });
      const count = tools.find((tool) => tool.name === 'count');
      expect(JSON.parse(count?.parameters_schema_json ?? '')).toEqual(pool.tools().find((tool) => tool.name === 'count')?.parametersSchema);
      expect(JSON.parse(count?.result_schema_json ?? '')).toEqual({ type: 'object', additionalProperties: { type: 'integer' } });
      expect(tools.find((tool) => tool.name === 'add')?.supports_streaming).toBe(false);
    });

    it('refuses a missing or wrong token as UNAUTHENTICATED, on every method', async () => {
      for (const metadata of [new grpc.Metadata(), withToken('wrong'), withToken(`${TOKEN}x`)]) {
        const ping = await unary((done) => client.Ping(new pb.PingRequest(), metadata, done));
        const tools = await unary((done) => client.ListTools(new pb.ListToolsRequest(), metadata, done));
        const execute = await unary((done) => client.ExecuteTool(request('add', { a: 1, b: 2 }), metadata, done));
        const stream = await collect(client.ExecuteStreamingTool(request('count', { n: 2 }), metadata));
        for (const error of [ping.error, tools.error, execute.error, stream.error]) {
          expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
          expect(detailOf(error)?.code).toBe('unauthenticated');
        }
        expect(stream.messages).toEqual([]);
      }
    });

    it('answers NOT_FOUND for an unknown tool, without taking a worker', async () => {
      const calls = pool.stats().calls;
      const { messages, error } = await collect(client.ExecuteStreamingTool(request('no_such_tool'), withToken()));
      expect(messages).toEqual([]);
      expect(error?.code).toBe(grpc.status.NOT_FOUND);
      expect(detailOf(error)).toMatchObject({ code: 'tool_not_found', hint: expect.stringContaining('count') });
      expect(pool.stats().calls).toBe(calls);
    });

    it('answers UNIMPLEMENTED with a hint when a unary tool is streamed, without taking a worker', async () => {
      const calls = pool.stats().calls;
      const { error } = await collect(client.ExecuteStreamingTool(request('add', { a: 1, b: 2 }), withToken()));
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      const detail = detailOf(error);
      expect(detail).toMatchObject({ code: 'not_streaming', hint: expect.stringContaining('supports_streaming=True') });
      expect(error?.details).toContain(detail?.hint);
      const batched = await collect(client.ExecuteStreamingToolBatched(request('add', { a: 1, b: 2 }), withToken()));
      expect(batched.error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(pool.stats().calls).toBe(calls);
    });

    it('streams every chunk, then the synthetic final one', async () => {
      const { messages, error } = await collect<ToolChunk>(client.ExecuteStreamingTool(request('count', { n: 100 }, 'js-1'), withToken()));
      expect(error).toBeUndefined();
      expect(messages).toHaveLength(101);
      expect(messages.slice(0, 100).map((chunk) => json(chunk.data))).toEqual(Array.from({ length: 100 }, (_, seq) => ({ seq })));
      expect(messages.map((chunk) => chunk.chunk_id)).toEqual(Array.from({ length: 101 }, (_, i) => `js-1-${i}`));
      expect(messages.filter((chunk) => chunk.is_final)).toEqual([messages[100]]);
      expect(json(messages[100]!.data)).toBeNull();
      expect(Object.fromEntries(messages[100]!.metadata)).toMatchObject({ synthetic_final: 'true', tool_type: 'remote' });
    });

    it("keeps the pool's chunk ids when the client sends no call id", async () => {
      const { messages } = await collect<ToolChunk>(client.ExecuteStreamingTool(request('count', { n: 2 }), withToken()));
      const ids = messages.map((chunk) => chunk.chunk_id);
      expect(ids).toHaveLength(3);
      const prefix = ids[0]!.replace(/-0$/, '');
      expect(ids).toEqual([`${prefix}-0`, `${prefix}-1`, `${prefix}-2`]);
    });

    it('re-encodes bytes, numpy arrays and metadata, streamed and batched', async () => {
      const streamed = await collect<ToolChunk>(client.ExecuteStreamingTool(request('binary_chunks'), withToken()));
      expect(streamed.error).toBeUndefined();
      const [bytes, array, last, final] = streamed.messages;
      expect(bytes?.encoding).toBe(pb.Encoding.ENCODING_BYTES);
      expect([...bytes!.data]).toEqual([0, 1, 2, 255]);
      expect(array?.encoding).toBe(pb.Encoding.ENCODING_NDARRAY);
      expect(array?.array.toObject()).toEqual({ dtype: 'float64', shape: [2, 3] });
      expect([...new Float64Array(new Uint8Array(array!.data).buffer)]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(last?.encoding).toBe(pb.Encoding.ENCODING_JSON);
      expect(json(last!.data)).toEqual({ done: true });
      expect(Object.fromEntries(last!.metadata)).toEqual({ stage: 'last' });
      expect(final?.is_final).toBe(true);

      const batched = await collect<ChunkBatch>(client.ExecuteStreamingToolBatched(request('binary_chunks', {}, 'bin'), withToken()));
      expect(batched.error).toBeUndefined();
      const chunks = unpack(batched.messages, 'bin');
      expect(chunks.map((chunk) => chunk.id)).toEqual(['bin-0', 'bin-1', 'bin-2', 'bin-3']);
      expect([...(chunks[0]!.data as Uint8Array)]).toEqual([0, 1, 2, 255]);
      expect(chunks[1]!.data).toMatchObject({ dtype: 'float64', shape: [2, 3] });
      expect([...(chunks[1]!.data as { data: Float64Array }).data]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(chunks[2]).toMatchObject({ data: { done: true }, metadata: { stage: 'last' } });
      expect(chunks[3]).toMatchObject({ isFinal: true, metadata: { synthetic_final: 'true' } });
    });

    it("places a batch's leading numpy array where a client views it in place", async () => {
      const values = new Float64Array(Array.from({ length: 1_000 }, (_, i) => i + 0.5));
      const { messages, error } = await collect<ChunkBatch>(
        client.ExecuteStreamingToolBatched(request('arrays', { dtypes: ['float64'], n: 1_000 }, 'al'), withToken()),
      );
      expect(error).toBeUndefined();
      const first = messages[0]!;
      expect(first.chunks[0]?.encoding).toBe(pb.Encoding.ENCODING_NDARRAY);
      // Where grpc-js hands a message over: 5 bytes into an 8-aligned buffer.
      const offset = Buffer.from(first.serialize()).indexOf(Buffer.from(new Float64Array(values.map((value) => value - 0.5)).buffer));
      expect(offset).toBeGreaterThan(0);
      expect((5 + offset) % 8).toBe(0);
    });

    it('packs the chunks that are ready into batches, in order, with ids derived from the call id', async () => {
      const { messages, error } = await collect<ChunkBatch>(
        client.ExecuteStreamingToolBatched(request('count_final', { n: 2000, metadata: { note: 'kept' } }, 'b-1'), withToken()),
      );
      expect(error).toBeUndefined();
      const chunks = unpack(messages, 'b-1');
      expect(chunks).toHaveLength(2000);
      expect(chunks.map((chunk) => (chunk.data as { seq: number }).seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      expect(chunks.map((chunk) => chunk.id)).toEqual(Array.from({ length: 2000 }, (_, i) => `b-1-${i}`));
      expect(chunks[1999]).toMatchObject({ isFinal: true, metadata: { note: 'kept', tool_type: 'remote', worker_id: expect.any(String) } });
      expect(messages.length).toBeLessThan(2000 / 4);
    });

    it("ends with the Python exception's code, type and traceback in the trailing ErrorDetail, after the chunks before it", async () => {
      for (const method of ['ExecuteStreamingTool', 'ExecuteStreamingToolBatched'] as const) {
        const { messages, error } = await collect<ToolChunk | ChunkBatch>(
          client[method](request('fail_after', { n: 3, message: 'loss is NaN' }, 'f'), withToken()),
        );
        const received =
          method === 'ExecuteStreamingTool'
            ? (messages as ToolChunk[]).map((chunk) => json(chunk.data))
            : unpack(messages as ChunkBatch[], 'f').map((chunk) => chunk.data);
        expect(received).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
        expect(error?.code).toBe(grpc.status.UNKNOWN);
        expect(error?.details).toBe('loss is NaN');
        const detail = detailOf(error);
        expect(detail).toMatchObject({
          code: 'python_error',
          message: 'loss is NaN',
          python_type: 'test_adapter.TrainingDiverged',
          worker_id: expect.stringMatching(/^worker-\d+$/),
        });
        expect(detail?.python_traceback).toMatch(/Traceback[\s\S]*fail_after[\s\S]*TrainingDiverged: loss is NaN/);
      }
    });

    it('answers INVALID_ARGUMENT for arguments that are not JSON, not an object, or that the tool refuses', async () => {
      const cases = [
        new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from('{"n": 3') }),
        new pb.ExecuteToolRequest({ tool_name: 'count', arguments: Buffer.from([0xff, 0xfe]) }),
        request('count', [3]),
        request('count', 3),
        request('count', { wrong: 3 }),
      ];
      for (const bad of cases) {
        const { error } = await collect(client.ExecuteStreamingTool(bad, withToken()));
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(detailOf(error)?.code).toBe('invalid_arguments');
      }
    });

    it('cancels the pooled call when the client cancels: the generator is closed', async () => {
      const marker = markerPath();
      const call = client.ExecuteStreamingTool(request('ticker', { marker, interval: 0.005 }), withToken());
      let received = 0;
      call.on('data', () => {
        received += 1;
        if (received === 5) call.cancel();
      });
      const outcome = collect(call);
      await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
      expect((await outcome).error?.code).toBe(grpc.status.CANCELLED);
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });

    it("honours the client's deadline: DEADLINE_EXCEEDED, and the generator is closed", async () => {
      const marker = markerPath();
      const { messages, error } = await collect<ToolChunk>(
        client.ExecuteStreamingTool(request('ticker', { marker, interval: 0.01 }), withToken(), { deadline: Date.now() + 500 }),
      );
      expect(messages.length).toBeGreaterThan(0);
      expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });

    it('pauses the worker while the client does not read, then delivers everything in order', async () => {
      const total = 20_000;
      const progress = markerPath();
      const call = client.ExecuteStreamingTool(request('produce', { n: total, size: 4096, progress }), withToken());
      const seqs: number[] = [];
      let paused = false;
      call.on('data', (chunk: ToolChunk) => {
        const data = json(chunk.data) as { seq: number } | null;
        if (data !== null) seqs.push(data.seq);
        if (!paused) {
          paused = true;
          call.pause();
        }
      });
      const outcome = collect(call);
      // While the client holds back, the generator runs ahead until the buffers between them fill, then stops.
      const produced = await valueOnceStable(() => producedCount(progress), 300);
      expect(produced).toBeLessThan(total / 2);
      expect(seqs).toHaveLength(1);
      call.resume();
      const { messages, error } = await outcome;
      expect(error).toBeUndefined();
      expect(messages).toHaveLength(total + 1);
      expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
    });

    describe('ExecuteTool', () => {
      it('runs a unary tool and answers its result as JSON', async () => {
        const { response } = await unary<InstanceType<typeof pb.ExecuteToolResponse>>((done) =>
          client.ExecuteTool(request('add', { a: 20, b: 22 }), withToken(), done),
        );
        expect(response?.encoding).toBe(pb.Encoding.ENCODING_JSON);
        expect(json(response!.result)).toBe(42);
        const value = { nested: [1, 'two', { three: null }], unicode: 'π ≈ 3.14 🐍' };
        const echo = await unary<InstanceType<typeof pb.ExecuteToolResponse>>((done) =>
          client.ExecuteTool(request('echo', { value }), withToken(), done),
        );
        expect(json(echo.response!.result)).toEqual(value);
      });

      it('answers a numpy result as an aligned ndarray', async () => {
        const { response } = await unary<InstanceType<typeof pb.ExecuteToolResponse>>((done) =>
          client.ExecuteTool(request('array_result', { n: 5 }), withToken(), done),
        );
        expect(response?.encoding).toBe(pb.Encoding.ENCODING_NDARRAY);
        expect(response?.array.toObject()).toEqual({ dtype: 'int32', shape: [5] });
        expect([...new Int32Array(new Uint8Array(response!.result).buffer)]).toEqual([0, 1, 2, 3, 4]);
        // Where grpc-js hands a message over: 5 bytes into an 8-aligned buffer.
        const bytes = response!.serialize();
        const offset = Buffer.from(bytes).indexOf(Buffer.from(new Int32Array([0, 1, 2, 3, 4]).buffer));
        expect((5 + offset) % 8).toBe(0);
      });

      it("keeps the Python exception's type and traceback", async () => {
        const { error } = await unary((done) =>
          client.ExecuteTool(request('raise_value_error', { message: 'bad input' }), withToken(), done),
        );
        expect(error?.code).toBe(grpc.status.UNKNOWN);
        expect(detailOf(error)).toMatchObject({
          code: 'python_error',
          python_type: 'ValueError',
          python_traceback: expect.stringContaining('ValueError: bad input'),
        });
      });

      it('refuses streaming tools, unknown tools and bad arguments before taking a worker', async () => {
        const calls = pool.stats().calls;
        const streaming = await unary((done) => client.ExecuteTool(request('count', { n: 1 }), withToken(), done));
        expect(streaming.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
        expect(detailOf(streaming.error)).toMatchObject({ code: 'not_unary', hint: expect.stringContaining('ExecuteStreamingTool') });
        const unknown = await unary((done) => client.ExecuteTool(request('nope'), withToken(), done));
        expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
        const bad = await unary((done) =>
          client.ExecuteTool(new pb.ExecuteToolRequest({ tool_name: 'add', arguments: Buffer.from('[1, 2]') }), withToken(), done),
        );
        expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(detailOf(bad.error)?.code).toBe('invalid_arguments');
        expect(pool.stats().calls).toBe(calls);
      });

      it("honours the client's deadline: the pooled call is cancelled with it, and the tool sees the cancel", async () => {
        const marker = markerPath();
        const { error } = await unary((done) =>
          client.ExecuteTool(request('wait_for_cancel', { marker, seconds: 30 }), withToken(), { deadline: Date.now() + 300 }, done),
        );
        expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
        await waitUntil(() => markerEvents(marker).length === 2, 4_000, 'the tool to end');
        expect(markerEvents(marker)).toEqual(['started', 'cancelled']);
      });
    });

    it('answers the ...WithHostTools methods with UNIMPLEMENTED and a hint, after checking the token', async () => {
      for (const method of ['ExecuteToolWithHostTools', 'ExecuteStreamingToolWithHostTools'] as const) {
        for (const [metadata, code] of [
          [withToken(), grpc.status.UNIMPLEMENTED],
          [new grpc.Metadata(), grpc.status.UNAUTHENTICATED],
        ] as const) {
          const call = client[method](metadata);
          call.write(new pb.HostMessage({ request: request('add', { a: 1, b: 2 }) }));
          const { messages, error } = await collect(call);
          call.end();
          expect(messages).toEqual([]);
          expect(error?.code).toBe(code);
          if (code === grpc.status.UNIMPLEMENTED) expect(error?.details).toContain('does not relay host tools');
        }
      }
    });

    it('answers AwaitCall with UNIMPLEMENTED and a hint', async () => {
      const { error } = await unary((done) =>
        client.AwaitCall(new pb.AwaitCallRequest({ call_id: 'x', timeout_ms: 10 }), withToken(), done),
      );
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(error?.details).toContain('hint');
    });
  });
});

describe('createBridgeServer() lifecycle and options', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool?.close());

  it('refuses bad options', async () => {
    await expect(createBridgeServer(pool, { port: 70_000 })).rejects.toMatchObject({ code: 'invalid_arguments' });
    await expect(createBridgeServer(pool, { token: '' })).rejects.toMatchObject({ code: 'invalid_arguments' });
    // Tokens no gRPC client can send (metadata is printable ASCII; spaces at the ends do not survive).
    for (const token of ['tökén', 'secret\n', 'secret ', ' secret']) {
      await expect(createBridgeServer(pool, { token })).rejects.toMatchObject({
        code: 'invalid_arguments',
        message: expect.stringContaining('ASCII'),
      });
      await expect(createPool({ adapter: 'test_adapter.TestAdapter', endpoints: ['127.0.0.1:1'], token })).rejects.toMatchObject({
        code: 'invalid_arguments',
        message: expect.stringContaining('ASCII'),
      });
    }
    await expect(createBridgeServer(pool, { tls: { cert: 'x', key: 'y', requireClientCert: true } })).rejects.toMatchObject({
      code: 'invalid_arguments',
      message: expect.stringContaining('ca'),
    });
  });

  it('serves without a token when none is set', async () => {
    await withServer(pool, async (server, client) => {
      const { response } = await unary<InstanceType<typeof pb.PingResponse>>((done) =>
        client.Ping(new pb.PingRequest({ message: 'hi' }), done),
      );
      expect(response?.message).toBe('hi');
      expect(response?.worker_id).toBe(server.id);
    });
  });

  it('close() cancels running calls and their generators; the pool stays open', async () => {
    const marker = markerPath();
    await withServer(pool, async (server, client) => {
      const call = client.ExecuteStreamingTool(request('ticker', { marker }));
      const outcome = collect(call);
      await waitUntil(() => markerEvents(marker).includes('started'), 10_000, 'the tool to start');
      await server.close();
      // The server goes away under the call: grpc-js reports that as cancelled or unavailable.
      expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain((await outcome).error?.code);
      await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    });
  });

  it('shutdown() lets running calls finish and refuses calls that arrive during the drain with UNAVAILABLE', async () => {
    await withServer(pool, async (server, client) => {
      const call = client.ExecuteStreamingTool(request('pid_then_wait', { seconds: 1 }));
      const running = collect<ToolChunk>(call);
      let drained = false;
      void running.then(() => (drained = true));
      await new Promise((resolve) => call.once('data', resolve));
      const stopped = server.shutdown({ timeout: 10_000 });
      // While the running call drains: a call on the same connection, and one on a new connection.
      const fresh = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      try {
        for (const late of [client, fresh]) {
          const { error } = await unary((done) => late.ExecuteTool(request('add', { a: 1, b: 2 }), { deadline: Date.now() + 2_000 }, done));
          expect(error?.code).toBe(grpc.status.UNAVAILABLE);
        }
      } finally {
        fresh.close();
      }
      expect(drained).toBe(false);
      const { messages, error } = await running;
      expect(error).toBeUndefined();
      expect(messages.at(-1)?.is_final).toBe(true);
      await stopped;
    });
  });

  it('shutdown({ timeout }) cancels the calls still running when it passes: their generators are closed', async () => {
    const marker = markerPath();
    await withServer(pool, async (server, client) => {
      const call = client.ExecuteStreamingTool(request('ticker', { marker }));
      const outcome = collect(call);
      await new Promise((resolve) => call.once('data', resolve));
      await server.shutdown({ timeout: 100 });
      expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain((await outcome).error?.code);
      await waitUntil(() => markerEvents(marker).includes('closed'), 10_000, 'the generator to be closed');
    });
  });

  // Last: it closes the pool.
  it('answers UNAVAILABLE with pool_closed once the pool is closed', async () => {
    await withServer(pool, async (server, client) => {
      await pool.close();
      const { error } = await collect(client.ExecuteStreamingTool(request('count', { n: 1 })));
      expect(error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(detailOf(error)?.code).toBe('pool_closed');
    });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
// The certificate names localhost; dialling the IP keeps the client off ::1, where nothing listens.
const TLS_CLIENT_OPTIONS = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };

// Node's crypto can sign but not build an X.509 certificate, so without openssl there is no certificate to serve.
describe.skipIf(!hasOpenssl)('createBridgeServer() with TLS (self-signed certificate made by openssl)', () => {
  let pool: SnakepitPool;
  let cert: Buffer;
  let key: Buffer;

  beforeAll(async () => {
    const dir = specTempDir('tls-');
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ]);
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool?.close());

  it('serves TLS: a client trusting the certificate streams; a plaintext client cannot connect', async () => {
    const server = await createBridgeServer(pool, { tls: { cert, key }, token: TOKEN });
    const secure = new pb.BridgeServiceClient(server.address, grpc.credentials.createSsl(cert), TLS_CLIENT_OPTIONS);
    const plain = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
    try {
      const { messages, error } = await collect<ToolChunk>(secure.ExecuteStreamingTool(request('count', { n: 3 }), withToken()));
      expect(error).toBeUndefined();
      expect(messages).toHaveLength(4);
      const refused = await unary((done) => plain.Ping(new pb.PingRequest(), withToken(), { deadline: Date.now() + 2_000 }, done));
      expect(refused.error?.code).toBeOneOf([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL]);
    } finally {
      secure.close();
      plain.close();
      await server.close();
    }
  });

  it("refuses TLS material that does not parse, or a key that is not the certificate's, with invalid_arguments naming it", async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    for (const [tls, named] of [
      [{ cert: 'not a certificate', key }, '`tls.cert`'],
      [{ cert, key: 'not a key' }, '`tls.key`'],
      [{ cert, key: otherKey }, '`tls.key` is not the key of `tls.cert`'],
      // A CA that does not parse would have refused every client certificate, silently.
      [{ cert, key, ca: 'not a certificate', requireClientCert: true }, '`tls.ca`'],
    ] as const) {
      await expect(createBridgeServer(pool, { tls })).rejects.toMatchObject({
        code: 'invalid_arguments',
        message: expect.stringContaining(named),
      });
    }
  });

  it('with requireClientCert, refuses a client without a certificate signed by the CA', async () => {
    const server = await createBridgeServer(pool, { tls: { cert, key, ca: cert, requireClientCert: true } });
    const withCert = new pb.BridgeServiceClient(server.address, grpc.credentials.createSsl(cert, key, cert), TLS_CLIENT_OPTIONS);
    const withoutCert = new pb.BridgeServiceClient(server.address, grpc.credentials.createSsl(cert), TLS_CLIENT_OPTIONS);
    try {
      const ok = await unary((done) => withCert.Ping(new pb.PingRequest(), done));
      expect(ok.error).toBeUndefined();
      const refused = await unary((done) => withoutCert.Ping(new pb.PingRequest(), { deadline: Date.now() + 2_000 }, done));
      expect(refused.error?.code).toBeOneOf([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
    } finally {
      withCert.close();
      withoutCert.close();
      await server.close();
    }
  });
});

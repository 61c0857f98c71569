import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../lib/contract/bridge-connection.js';
import { errorStatus } from '../lib/contract/status-for-error.js';
import { createBridgeServer, SnakepitError, type BridgeServer, type SnakepitPool } from '../lib/index.js';
import { rejectionOf, startTestPool } from './support/pools.js';

// What a status may carry, whoever sends it: grpcio clients refuse trailers over 16 KiB, and
// Node's HTTP/2 stops at 64 KiB without a word (the call then hangs to its deadline).
const MESSAGE_BYTES = 2048;
const TRACEBACK_BYTES = 4096;
const DETAILS_BYTES = 1024;
const CUT = /… \[cut: ([\d,]+) more characters\]$/;

const SIZES = [
  ['30 KiB', 30 * 1024],
  ['1 MiB', 1024 * 1024],
  ['10 MiB', 10 * 1024 * 1024],
] as const;
const PARTS = ['message', 'traceback'] as const;
type Part = (typeof PARTS)[number];

const bytes = (text: string | undefined): number => Buffer.byteLength(text ?? '', 'utf8');

/** The checks every path shares: the typed error, its parts within their limits, and a cut that says so. */
function expectCutError(
  error: { code: string; message: string; pythonType?: string; pythonTraceback?: string },
  part: Part,
  size: number,
): void {
  expect(error.code).toBe('python_error');
  expect(error.pythonType).toBe('ValueError');
  expect(bytes(error.message)).toBeLessThanOrEqual(MESSAGE_BYTES);
  expect(bytes(error.pythonTraceback)).toBeLessThanOrEqual(TRACEBACK_BYTES);
  expect(error.pythonTraceback).toMatch(/^Traceback \(most recent call last\):/);
  expect(error.pythonTraceback).toMatch(/\[cut: [\d,]+ characters\]/);
  if (part === 'message') {
    expect(error.message.startsWith('start:mmmm')).toBe(true);
    const [, removed] = CUT.exec(error.message) ?? [];
    const kept = error.message.replace(CUT, '').length;
    // The tool's message is 'start:' + size characters + ':end'.
    expect(kept + Number(removed?.replaceAll(',', ''))).toBe(size + 10);
  } else {
    expect(error.message).toBe('a small message');
    expect(error.pythonTraceback).toMatch(/:end\n?$/);
  }
}

describe('a tool exception with a huge message or traceback', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  describe.each(SIZES)('of %s', (_, size) => {
    it.each(PARTS)('reaches a unary caller as python_error, its %s cut and marked, and the worker keeps serving', async (part) => {
      const error = await rejectionOf(pool.execute('raise_large', { size, part }, { timeout: 20_000 }));
      expectCutError(error, part, size);
      expect(pool.stats().restarts).toBe(0);
      await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    });

    it.each(PARTS)('reaches a stream after its chunks, its %s cut and marked', async (part) => {
      const received: unknown[] = [];
      const error = await rejectionOf(
        pool.executeStream('fail_large_after', { n: 3, size, part }, (chunk) => received.push(chunk.data), { timeout: 20_000 }),
      );
      expect(received).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
      expectCutError(error, part, size);
      expect(pool.stats().restarts).toBe(0);
    });
  });

  describe('through a bridge server, to a grpc-js client', () => {
    let server: BridgeServer;
    let client: InstanceType<typeof pb.BridgeServiceClient>;

    beforeAll(async () => {
      server = await createBridgeServer(pool);
      client = new pb.BridgeServiceClient(server.address, grpc.credentials.createInsecure());
    });
    afterAll(async () => {
      client.close();
      await server.close();
    });

    const request = (tool: string, args: unknown) =>
      new pb.ExecuteToolRequest({ tool_name: tool, arguments: Buffer.from(JSON.stringify(args)) });
    const deadline = () => ({ deadline: Date.now() + 20_000 });

    function fromStatus(error: grpc.ServiceError): SnakepitError & { details: string } {
      expect(error.code).toBe(grpc.status.UNKNOWN);
      expect(bytes(error.details)).toBeLessThanOrEqual(DETAILS_BYTES);
      const encoded = error.metadata.get('snakepit-error-bin')[0];
      if (!(encoded instanceof Buffer)) throw new Error('no ErrorDetail in the trailers');
      const detail = pb.ErrorDetail.deserialize(encoded);
      return Object.assign(
        new SnakepitError(detail.code as 'python_error', detail.message, {
          pythonType: detail.python_type,
          pythonTraceback: detail.python_traceback,
        }),
        { details: error.details },
      );
    }

    it.each(SIZES.flatMap(([label, size]) => PARTS.map((part) => [label, part, size] as const)))(
      'ExecuteTool: %s %s',
      async (_, part, size) => {
        const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
          client.ExecuteTool(request('raise_large', { size, part }), new grpc.Metadata(), deadline(), (failure) =>
            failure ? resolve(failure) : reject(new Error('expected the call to fail')),
          ),
        );
        expectCutError(fromStatus(error), part, size);
      },
    );

    it.each(SIZES.flatMap(([label, size]) => PARTS.map((part) => [label, part, size] as const)))(
      'ExecuteStreamingTool: %s %s, after the chunks',
      async (_, part, size) => {
        const call = client.ExecuteStreamingTool(request('fail_large_after', { n: 2, size, part }), new grpc.Metadata(), deadline());
        const received: unknown[] = [];
        const error = await new Promise<grpc.ServiceError>((resolve) => {
          let failure: grpc.ServiceError | undefined;
          call.on('data', (chunk: InstanceType<typeof pb.ToolChunk>) => received.push(JSON.parse(Buffer.from(chunk.data).toString())));
          call.on('error', (caught: grpc.ServiceError) => (failure = caught));
          call.on('end', () => resolve(failure!));
        });
        expect(received).toEqual([{ seq: 0 }, { seq: 1 }]);
        expectCutError(fromStatus(error), part, size);
      },
    );
  });
});

describe("the bridge server's error statuses", () => {
  it("stay within the trailers' limits whatever the error's size, and say where they were cut", () => {
    const huge = 'é'.repeat(5 * 1024 * 1024);
    const status = errorStatus(
      new SnakepitError('worker_start_failed', `start ${huge}`, { hint: huge, pythonTraceback: `Traceback ${huge} end`, pythonType: huge }),
    );
    expect(bytes(status.details)).toBeLessThanOrEqual(DETAILS_BYTES);
    const detail = pb.ErrorDetail.deserialize(status.metadata.get('snakepit-error-bin')[0] as Buffer);
    expect(detail.code).toBe('worker_start_failed');
    expect(bytes(detail.message)).toBeLessThanOrEqual(MESSAGE_BYTES);
    expect(detail.message).toMatch(/^start éé/);
    expect(detail.message).toMatch(CUT);
    expect(bytes(detail.python_traceback)).toBeLessThanOrEqual(TRACEBACK_BYTES);
    expect(detail.python_traceback).toMatch(/^Traceback éé[\s\S]*\[cut: [\d,]+ characters\][\s\S]*éé end$/);
    expect(bytes(detail.hint)).toBeLessThanOrEqual(1024);
    expect(bytes(detail.python_type)).toBeLessThanOrEqual(256);
    const removed = Number(CUT.exec(detail.message)?.[1]?.replaceAll(',', ''));
    expect(detail.message.replace(CUT, '').length + removed).toBe(huge.length + 6);
  });

  it('pass short errors unchanged', () => {
    const status = errorStatus(new SnakepitError('python_error', 'bad input', { hint: 'try again', pythonTraceback: 'Traceback...' }));
    expect(status.details).toBe('bad input (hint: try again)');
    const detail = pb.ErrorDetail.deserialize(status.metadata.get('snakepit-error-bin')[0] as Buffer);
    expect([detail.message, detail.hint, detail.python_traceback]).toEqual(['bad input', 'try again', 'Traceback...']);
  });
});

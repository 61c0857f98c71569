import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTracedTraining } from '../examples/opentelemetry/otlp-export.js';

/** What an OTLP/HTTP receiver got: each request's path, content type and body. */
interface Export {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

const exports: Export[] = [];
const receiver = createServer((req: IncomingMessage, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    exports.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(parts) });
    res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/json' }).end();
  });
});

beforeAll(async () => {
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  // Read by Node's exporters and, through the workers' inherited environment, by Python's.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  receiver.close();
  await once(receiver, 'close');
});

/** The names of the spans in Node's OTLP/JSON trace exports, by trace id. */
function nodeSpans(): { name: string; traceId: string }[] {
  return exports
    .filter((found) => found.path === '/v1/traces' && found.contentType.startsWith('application/json'))
    .flatMap((found) => {
      const body = JSON.parse(found.body.toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[];
      };
      return body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans));
    })
    .map(({ name, traceId }) => ({ name, traceId }));
}

describe('examples/opentelemetry/otlp-export.ts', () => {
  it('exports one trace from Node and from the Python worker to the OTLP endpoint, and the metrics', async () => {
    const run = await exportTracedTraining(() => {});

    expect(run.epochs).toHaveLength(4);
    const toolLogs = run.logs.filter((log) => log.tool === 'train_with_progress');
    expect(toolLogs.map((log) => log.message)).toEqual(['epoch 1: loss=1.0', 'epoch 2: loss=0.5', 'epoch 3: loss=0.333']);
    expect(toolLogs.every((log) => log.traceId === run.traceId)).toBe(true);

    expect(nodeSpans()).toEqual(
      expect.arrayContaining([
        { name: 'train model', traceId: run.traceId },
        { name: 'snakepit.stream', traceId: run.traceId },
      ]),
    );
    // The worker's exporter speaks OTLP/protobuf: its spans carry the trace id as 16 raw bytes.
    const python = exports.filter((found) => found.path === '/v1/traces' && found.contentType === 'application/x-protobuf');
    expect(python.length).toBeGreaterThan(0);
    const body = Buffer.concat(python.map((found) => found.body));
    expect(body.includes(Buffer.from(run.traceId, 'hex'))).toBe(true);
    expect(body.includes('snakepit.tool')).toBe(true);
    expect(body.includes('epoch')).toBe(true);

    const nodeMetrics = exports.filter((found) => found.path === '/v1/metrics').map((found) => found.body.toString('utf8'));
    expect(nodeMetrics.join('')).toContain('"snakepit.call.duration"');
  }, 60_000);
});

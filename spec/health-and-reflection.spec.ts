import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeServer, createPool, type BridgeServer, type SnakepitPool } from '../lib/index.js';
import { resolvePython } from '../lib/worker/python-environment.js';
import { FIXTURES, markerPath, nextEvent, startTestPool } from './support/pools.js';
import { serveWorker } from './support/serve.js';

const TOKEN = 'tooling-token';
const BRIDGE_SERVICE = 'snakepit_rx.bridge.v1.BridgeService';

/** What spec/fixtures/grpc_tools_client.py reports. */
interface ToolsReport {
  readonly health: Record<string, string>;
  readonly reflection: { services?: string[]; methods?: Record<string, { input: string; output: string }>; error?: string };
  readonly reflection_without_token: { error?: string };
}

/** Runs grpcio's stock health and reflection clients against `address`, in another process. */
async function stockTools(address: string, token = TOKEN): Promise<ToolsReport> {
  const { stdout } = await promisify(execFile)(
    resolvePython(undefined),
    [join(FIXTURES, 'grpc_tools_client.py'), JSON.stringify({ address, token })],
    {
      timeout: 30_000,
    },
  );
  return JSON.parse(stdout) as ToolsReport;
}

/** A grpc-js client of grpc.health.v1.Health, built from the package's own service definition. */
const HealthClient = grpc.makeClientConstructor(healthService, 'Health');
type HealthStatus = { status: string };

function healthClient(address: string): grpc.Client & {
  check(request: { service: string }, callback: (error: grpc.ServiceError | null, response?: HealthStatus) => void): void;
  watch(request: { service: string }): grpc.ClientReadableStream<HealthStatus>;
} {
  return new HealthClient(address, grpc.credentials.createInsecure()) as never;
}

function check(address: string, service = ''): Promise<string> {
  const client = healthClient(address);
  return new Promise<string>((resolve) =>
    client.check({ service }, (error, response) => {
      client.close();
      resolve(error === null ? (response?.status ?? 'no response') : grpc.status[error.code]);
    }),
  );
}

function expectToolingReport(report: ToolsReport): void {
  expect(report.health).toEqual({ '': 'SERVING', [BRIDGE_SERVICE]: 'SERVING' });
  expect(report.reflection.services).toContain(BRIDGE_SERVICE);
  expect(report.reflection.services).toContain('grpc.health.v1.Health');
  expect(report.reflection.methods).toMatchObject({
    ListTools: { input: 'snakepit_rx.bridge.v1.ListToolsRequest', output: 'snakepit_rx.bridge.v1.ListToolsResponse' },
    ExecuteStreamingToolBatched: { input: 'snakepit_rx.bridge.v1.ExecuteToolRequest', output: 'snakepit_rx.bridge.v1.ChunkBatch' },
  });
  expect(report.reflection_without_token).toEqual({ error: 'UNAUTHENTICATED' });
}

describe('the bridge server: health checking and reflection', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool?.close());

  it("answers grpcio's stock health client without the token, and its reflection client only with it", async () => {
    const server = await createBridgeServer(pool, { token: TOKEN });
    try {
      expectToolingReport(await stockTools(server.address));
      expect(await check(server.address, 'no.such.Service')).toBe('NOT_FOUND');
    } finally {
      await server.close();
    }
  });

  it("answers a health check of a service it does not know without echoing the service's name whole", async () => {
    const server = await createBridgeServer(pool, { token: TOKEN });
    const client = healthClient(server.address);
    try {
      const name = `no.such.${'Service'.repeat(100_000)}`;
      const error = await new Promise<grpc.ServiceError | null>((resolve) => client.check({ service: name }, resolve));
      expect(error?.code).toBe(grpc.status.NOT_FOUND);
      expect(error?.details).toMatch(/^no health status for the service "no\.such\.Service.*… \(700008 characters\)$/);
      expect(error?.details.length).toBeLessThan(200);

      const watch = client.watch({ service: name });
      watch.on('error', () => undefined); // the cancel below ends it with CANCELLED
      const first = await new Promise<HealthStatus>((resolve) => watch.once('data', resolve));
      expect(first.status).toBe('SERVICE_UNKNOWN');
      watch.cancel();
    } finally {
      client.close();
      await server.close();
    }
  });

  it('a Watch hears NOT_SERVING when the server shuts down, and the shutdown does not wait for the Watch', async () => {
    const server: BridgeServer = await createBridgeServer(pool, { token: TOKEN });
    const client = healthClient(server.address);
    try {
      const watch = client.watch({ service: BRIDGE_SERVICE });
      const statuses: string[] = [];
      const ended = new Promise<void>((resolve) => {
        watch.on('data', (response: HealthStatus) => statuses.push(response.status));
        watch.on('error', () => resolve());
        watch.on('end', () => resolve());
      });
      await new Promise((resolve) => watch.once('data', resolve));
      const startedAt = performance.now();
      await server.shutdown({ timeout: 20_000 });
      await ended;
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
      expect(performance.now() - startedAt).toBeLessThan(10_000);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('reports NOT_SERVING once its pool is closed', async () => {
    const { pool: closing } = await startTestPool({ size: 1 });
    const server = await createBridgeServer(closing);
    try {
      expect(await check(server.address)).toBe('SERVING');
      await closing.close();
      expect(await check(server.address)).toBe('NOT_SERVING');
      expect(await check(server.address, BRIDGE_SERVICE)).toBe('NOT_SERVING');
    } finally {
      await server.close();
      await closing.close();
    }
  });

  it('reports NOT_SERVING once its pool is degraded', async () => {
    const refuse = markerPath();
    const degrading = await createPool({
      adapter: 'refusing_adapter.RefusingAdapter',
      size: 1,
      pythonPath: FIXTURES,
      env: { SNAKEPIT_SPEC_REFUSE: refuse },
      maxRestartAttempts: 1,
      onLog: () => undefined,
    });
    const server = await createBridgeServer(degrading);
    try {
      expect(await check(server.address, BRIDGE_SERVICE)).toBe('SERVING');
      const pid = await degrading.execute<number>('whoami');
      writeFileSync(refuse, 'no more starts');
      const degraded = nextEvent(degrading, 'pool_degraded');
      process.kill(pid, 'SIGKILL');
      await degraded;
      expect(await check(server.address, BRIDGE_SERVICE)).toBe('NOT_SERVING');
      expect(await check(server.address)).toBe('NOT_SERVING');
    } finally {
      await server.close();
      await degrading.close();
    }
  });
});

describe('`python -m snakepit_bridge serve`: health checking and reflection', () => {
  it("answers grpcio's stock health client without the token, and its reflection client only with it", async () => {
    const worker = await serveWorker({ token: TOKEN });
    try {
      expectToolingReport(await stockTools(worker.endpoint));
    } finally {
      await worker.stop();
    }
  });
});

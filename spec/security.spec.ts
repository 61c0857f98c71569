import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeConnection } from '../lib/contract/bridge-connection.js';
import { errorFromStatus } from '../lib/contract/error-from-status.js';
import { WorkerProcess } from '../lib/worker/worker-process.js';
import { resolvePython } from '../lib/worker/python-environment.js';
import { FIXTURES, startTestPool } from './support/pools.js';
import type { ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';

describe('a worker on TCP', () => {
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await WorkerProcess.start({
      id: 'guarded',
      python: resolvePython(undefined),
      adapter: 'test_adapter.TestAdapter',
      pythonPath: [FIXTURES],
      cwd: undefined,
      env: {},
      token: 'the-right-token',
      maxMessageBytes: 1024 * 1024,
      // On a loopback port, as with `transport: 'tcp'` (spec/unix-sockets.spec.ts checks the sockets).
      socketPath: undefined,
      startTimeoutMs: 30_000,
      onLog: () => undefined,
    });
  });
  afterAll(() => worker.stop(1000));

  it('serves calls that carry its token', async () => {
    await expect(worker.connection.ping(new Date(Date.now() + 5000))).resolves.toMatchObject({ worker_id: 'guarded' });
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'a-wrong-token'],
  ])('refuses calls with %s as unauthenticated', async (_, token) => {
    const intruder = new BridgeConnection(worker.connection.address, { token, maxMessageBytes: 1024 * 1024 });
    try {
      const error = await intruder.listTools(new Date(Date.now() + 5000)).catch((failure: ServiceError) => failure);
      expect(errorFromStatus(error as ServiceError, { workerId: 'guarded', tool: 'ListTools' })).toMatchObject({ code: 'unauthenticated' });
    } finally {
      intruder.close();
    }
  });

  it('listens on loopback only', () => {
    expect(worker.connection.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = `:${Number(worker.connection.address.split(':')[1]).toString(16).toUpperCase().padStart(4, '0')}`;
    // grpcio may listen on an IPv6 socket with the v4-mapped address ::ffff:127.0.0.1.
    const loopback = new Set(['0100007F', '0000000000000000FFFF00000100007F']);
    const listening = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((table) => readFileSync(table, 'utf8').split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[1]?.endsWith(port) && fields[3] === '0A');
    expect(listening.length).toBeGreaterThan(0);
    expect(listening.map((fields) => fields[1]!.slice(0, -port.length)).every((address) => loopback.has(address))).toBe(true);
  });

  it('keeps its token out of its environment, where /proc/<pid>/environ would show it to any process of the user', () => {
    // The process serving calls, and on Linux its supervisor, the process Node started.
    const serving = worker.pid!;
    const stat = readFileSync(`/proc/${serving}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const pids = parent === process.pid ? [serving] : [serving, parent];
    for (const pid of pids) {
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environment).not.toContain('the-right-token');
      expect(environment).not.toContain('SNAKEPIT_TOKEN');
    }
  });

  it('hides its token from tools and their subprocesses', async () => {
    const pool = await startTestPool({ size: 1 });
    try {
      await expect(pool.pool.execute('getenv', { name: 'SNAKEPIT_TOKEN' })).resolves.toBeNull();
    } finally {
      await pool.pool.close();
    }
  });
});

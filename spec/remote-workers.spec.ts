import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, resolveEndpoints, SnakepitError, type SnakepitPool } from '../lib/index.js';
import { resolvePython } from '../lib/worker/python-environment.js';
import { FIXTURES, markerPath, nextEvent, rejectionOf } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const TOKEN = 'shared-secret';

describe('remote workers (endpoints)', () => {
  const started: StandaloneWorker[] = [];
  const pools: SnakepitPool[] = [];

  async function worker(options: Parameters<typeof serveWorker>[0] = {}): Promise<StandaloneWorker> {
    const served = await serveWorker({ token: TOKEN, ...options });
    started.push(served);
    return served;
  }

  async function pool(endpoints: string[], options: { token?: string; adapter?: string } = {}): Promise<SnakepitPool> {
    const created = await createPool({
      adapter: options.adapter ?? 'test_adapter.TestAdapter',
      endpoints,
      token: options.token ?? TOKEN,
      healthCheckInterval: 100,
      healthCheckTimeout: 500,
      startTimeout: 2_000,
    });
    pools.push(created);
    return created;
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((created) => created.close()));
    await Promise.all(started.splice(0).map((served) => served.stop()));
  });

  it('streams on every endpoint; the final chunk names the endpoint that served it', async () => {
    const [a, b] = await Promise.all([worker(), worker()]);
    const remote = await pool([a.endpoint, b.endpoint]);
    const runs = await Promise.all([1, 2].map(() => lastValueFrom(remote.stream('sequence', { n: 50, delay: 0.001 }).pipe(toArray()))));
    for (const chunks of runs) expect(chunks.map((chunk) => chunk.index)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(new Set(runs.map((chunks) => chunks.at(-1)?.metadata['worker_id']))).toEqual(new Set([a.endpoint, b.endpoint]));
    expect(remote.tools().map((tool) => tool.name)).toContain('sequence');
  });

  it('fails a call in flight on an endpoint that goes away with worker_unavailable; the other keeps serving; the endpoint serves again once back', async () => {
    const [a, b] = await Promise.all([worker(), worker()]);
    const remote = await pool([a.endpoint, b.endpoint]);
    let servingPid!: (pid: number) => void;
    const served = new Promise<number>((resolve) => (servingPid = resolve));
    const running = remote
      .executeStream<{ pid: number }>('ticker', { marker: markerPath(), interval: 0.01 }, (chunk) => servingPid(chunk.data.pid))
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    const pid = await served;
    const victim = pid === a.process.pid ? a : b;
    const survivor = victim === a ? b : a;
    const down = nextEvent(remote, 'worker_exited', (event) => event.workerId === victim.endpoint);
    await victim.stop();
    const error = await running;
    expect(error).toBeInstanceOf(SnakepitError);
    expect(error).toMatchObject({ code: 'worker_unavailable', workerId: victim.endpoint });
    await down;
    for (let call = 0; call < 3; call += 1) {
      await expect(remote.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: survivor.process.pid });
    }

    const back = nextEvent(remote, 'worker_restarted', (event) => event.workerId === victim.endpoint, 15_000);
    const revived = await worker({ port: victim.port });
    await back;
    const pids = await Promise.all([1, 2].map(() => remote.execute<{ pid: number }>('whoami')));
    expect(new Set(pids.map(({ pid }) => pid))).toEqual(new Set([survivor.process.pid, revived.process.pid]));
  }, 30_000);

  it('starts with the endpoints that answer and adds the others when they come up', async () => {
    const a = await worker();
    const free = await worker();
    const port = free.port;
    await free.stop();
    const remote = await pool([a.endpoint, `127.0.0.1:${port}`]);
    expect(remote.stats().workers).toBe(1);
    const joined = nextEvent(remote, 'worker_restarted', () => true, 15_000);
    await worker({ port });
    await joined;
    expect(remote.stats().workers).toBe(2);
  }, 30_000);

  it('refuses endpoints that do not take its token, or serve another adapter, or do not answer at all', async () => {
    const a = await worker();
    await expect(pool([a.endpoint], { token: 'wrong' })).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(pool([a.endpoint], { adapter: 'other_module.Other' })).rejects.toMatchObject({
      code: 'worker_start_failed',
      message: expect.stringContaining('serves test_adapter.TestAdapter, not other_module.Other'),
    });
    const gone = await worker();
    await gone.stop();
    await expect(pool([gone.endpoint])).rejects.toMatchObject({ code: 'worker_unavailable' });
  }, 30_000);

  it('refuses an endpoint that serves another protocol with worker_start_failed, saying it does not serve this contract', async () => {
    // A stock grpcio server with only grpc.health.v1: every method of our contract is UNIMPLEMENTED there.
    const foreign = spawn(resolvePython(undefined), [join(FIXTURES, 'health_only_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [port] = (await once(createInterface({ input: foreign.stdout }), 'line')) as [string];
      const error = await rejectionOf(pool([`127.0.0.1:${port}`], { token: undefined }));
      expect(error.code).toBe('worker_start_failed');
      expect(error.message).toContain('does not serve snakepit_rx.bridge.v1.BridgeService');
      expect(error.hint).toMatch(/UNIMPLEMENTED.*another protocol/);
    } finally {
      foreign.stdin.end();
      await once(foreign, 'exit');
    }
  });

  it('resolves endpoints from DNS', async () => {
    await expect(resolveEndpoints('localhost', 50051)).resolves.toContain('127.0.0.1:50051');
    await expect(resolveEndpoints('no-such-host.invalid', 50051)).rejects.toMatchObject({ code: 'worker_unavailable' });
  });

  it('refuses bad endpoint lists', async () => {
    for (const endpoints of [[], ['nohost'], ['a:1', 'a:1']]) {
      await expect(createPool({ adapter: 'test_adapter.TestAdapter', endpoints })).rejects.toMatchObject({ code: 'invalid_arguments' });
    }
    await expect(createPool({ adapter: 'test_adapter.TestAdapter', endpoints: ['a:1'], size: 3 })).rejects.toMatchObject({
      code: 'invalid_arguments',
    });
  });
});

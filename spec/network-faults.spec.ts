/**
 * Remote workers behind a network that fails: each `serve` worker is
 * reached through a fault-injecting TCP proxy (spec/support/fault-proxy.ts).
 * How long each fault takes to detect is printed as [figure] lines, which
 * the README quotes.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, type PoolOptions, type SnakepitPool } from '../lib/index.js';
import { FaultProxy } from './support/fault-proxy.js';
import { markerPath, nextEvent, rejectionOf, reportFigure, waitUntil } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const TOKEN = 'network-faults-token';
const HEALTH = { healthCheckInterval: 200, healthCheckTimeout: 500 };

describe('remote workers under network faults', () => {
  const workers: StandaloneWorker[] = [];
  const proxies: FaultProxy[] = [];
  const pools: SnakepitPool[] = [];

  /** A `serve` worker behind a proxy of its own. */
  async function proxiedWorker(): Promise<{ worker: StandaloneWorker; proxy: FaultProxy }> {
    const worker = await serveWorker({ token: TOKEN });
    workers.push(worker);
    const proxy = await FaultProxy.start({ port: worker.port });
    proxies.push(proxy);
    return { worker, proxy };
  }

  async function remotePool(endpoints: string[], options: Partial<PoolOptions> = {}): Promise<SnakepitPool> {
    const pool = await createPool({
      adapter: 'test_adapter.TestAdapter',
      endpoints,
      token: TOKEN,
      startTimeout: 2_000,
      ...HEALTH,
      ...options,
    });
    pools.push(pool);
    return pool;
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });

  /** Starts `count` endless streams, one per endpoint; resolves with each one's pid, outcome and a way to stop it. */
  async function streamOnEach(pool: SnakepitPool, count: number) {
    return Promise.all(
      Array.from({ length: count }, async () => {
        let servedBy!: (pid: number) => void;
        const pid = new Promise<number>((resolve) => (servedBy = resolve));
        const controller = new AbortController();
        const outcome = rejectionOf(
          pool.executeStream<{ pid: number }>('ticker', { marker: markerPath(), interval: 0.01 }, (chunk) => servedBy(chunk.data.pid), {
            signal: controller.signal,
          }),
        );
        return { pid: await pid, outcome, stop: () => controller.abort() };
      }),
    );
  }

  it('a partition that drops traffic without closing: the call fails with worker_unavailable within the health interval, others go elsewhere, and the endpoint serves again once it heals', async () => {
    const [a, b] = await Promise.all([proxiedWorker(), proxiedWorker()]);
    const pool = await remotePool([a.proxy.endpoint, b.proxy.endpoint]);
    const streams = await streamOnEach(pool, 2);
    const onA = streams.find((stream) => stream.pid === a.worker.process.pid)!;
    const onB = streams.find((stream) => stream.pid === b.worker.process.pid)!;
    const down = nextEvent(pool, 'worker_exited', (event) => event.workerId === a.proxy.endpoint);

    const partitionedAt = performance.now();
    a.proxy.partition();
    const error = await onA.outcome;
    const detected = performance.now() - partitionedAt;
    expect(error).toMatchObject({ code: 'worker_unavailable', workerId: a.proxy.endpoint });
    // A ping every 200 ms, answered within 500 ms: found out within 700 ms, plus scheduling.
    expect(detected).toBeLessThan(3_000);
    reportFigure('partition (traffic dropped, nothing closed) to worker_unavailable (ping every 200 ms, 500 ms timeout)', detected, 'ms');
    await down;

    // The stream on the other endpoint goes on; once it is stopped, new calls go there.
    onB.stop();
    expect((await onB.outcome).code).toBe('cancelled');
    for (let call = 0; call < 3; call += 1) {
      await expect(pool.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: b.worker.process.pid });
    }

    const back = nextEvent(pool, 'worker_restarted', (event) => event.workerId === a.proxy.endpoint, 20_000);
    const healedAt = performance.now();
    a.proxy.heal();
    await back;
    reportFigure('partition healed to the endpoint serving again', performance.now() - healedAt, 'ms');
    const pids = await Promise.all([1, 2].map(() => pool.execute<{ pid: number }>('whoami')));
    expect(new Set(pids.map(({ pid }) => pid))).toEqual(new Set([a.worker.process.pid, b.worker.process.pid]));
  }, 60_000);

  it('an idle endpoint cut off by a partition is taken out of service within the health interval', async () => {
    const [a, b] = await Promise.all([proxiedWorker(), proxiedWorker()]);
    const pool = await remotePool([a.proxy.endpoint, b.proxy.endpoint]);
    const down = nextEvent(pool, 'worker_exited', (event) => event.workerId === a.proxy.endpoint);
    const partitionedAt = performance.now();
    a.proxy.partition();
    await down;
    reportFigure('partition of an idle endpoint to its removal', performance.now() - partitionedAt, 'ms');
    expect(pool.stats().workers).toBe(1);
    await expect(pool.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: b.worker.process.pid });
  }, 30_000);

  it('100 ms of added latency each way: no error, no restart, every chunk once and in order', async () => {
    const { proxy } = await proxiedWorker();
    proxy.delay(100);
    const pool = await remotePool([proxy.endpoint], { healthCheckTimeout: 2_000 });
    const started = performance.now();
    await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    reportFigure('unary round trip with 100 ms added each way', performance.now() - started, 'ms');
    const runs = await Promise.all(
      [1, 2, 3].map(() => lastValueFrom(pool.stream<{ seq: number } | null>('sequence', { n: 300, delay: 0.001 }).pipe(toArray()))),
    );
    for (const chunks of runs) {
      expect(chunks.map((chunk) => chunk.data?.seq)).toEqual([...Array.from({ length: 300 }, (_, i) => i), undefined]);
    }
    expect(pool.stats()).toMatchObject({ errors: 0, restarts: 0, workers: 1 });
  }, 60_000);

  it('a connection reset mid-stream: a typed error after the chunks received, none twice; the endpoint serves again', async () => {
    const { worker, proxy } = await proxiedWorker();
    const pool = await remotePool([proxy.endpoint]);
    const received: number[] = [];
    let resetAt = 0;
    const error = await rejectionOf(
      pool.executeStream<{ seq: number }>('ticker', { marker: markerPath(), interval: 0.002 }, (chunk) => {
        received.push(chunk.data.seq);
        if (received.length === 50) {
          resetAt = performance.now();
          proxy.reset();
        }
      }),
    );
    const detected = performance.now() - resetAt;
    expect(error).toMatchObject({ code: 'worker_unavailable', workerId: proxy.endpoint });
    expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i));
    reportFigure('connection reset mid-stream to worker_unavailable', detected, 'ms');
    const back = nextEvent(pool, 'worker_restarted', () => true, 20_000);
    await back;
    await expect(pool.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: worker.process.pid });
  }, 30_000);

  it('an endpoint that accepts TCP but never answers gRPC: the pool starts without it, after startTimeout, and serves with the others', async () => {
    const [good, silent] = await Promise.all([proxiedWorker(), proxiedWorker()]);
    silent.proxy.blackhole();
    const started = performance.now();
    const pool = await remotePool([good.proxy.endpoint, silent.proxy.endpoint]);
    reportFigure('pool start beside an endpoint that never answers (startTimeout 2000 ms)', performance.now() - started, 'ms');
    expect(pool.stats().workers).toBe(1);
    await expect(pool.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: good.worker.process.pid });
    // Alone, it fails the pool's start with worker_unavailable.
    const failedAt = performance.now();
    await expect(remotePool([silent.proxy.endpoint])).rejects.toMatchObject({ code: 'worker_unavailable' });
    reportFigure('pool of only a silent endpoint to worker_unavailable (startTimeout 2000 ms)', performance.now() - failedAt, 'ms');
    // Once it answers, it joins.
    const joined = nextEvent(pool, 'worker_restarted', () => true, 20_000);
    silent.proxy.heal();
    await joined;
    expect(pool.stats().workers).toBe(2);
  }, 60_000);

  it('close() ends a reconnection under way to an endpoint that never answers, rather than wait for startTimeout', async () => {
    const [good, silent] = await Promise.all([proxiedWorker(), proxiedWorker()]);
    const pool = await remotePool([good.proxy.endpoint, silent.proxy.endpoint], { startTimeout: 20_000 });
    const lost = nextEvent(pool, 'worker_exited', (event) => event.workerId === silent.proxy.endpoint);
    silent.proxy.blackhole();
    silent.proxy.reset();
    await lost;
    // The pool dials it again, and the black hole holds the attempt (the lost connection's own redial may be held too).
    const held = silent.proxy.accepted;
    await waitUntil(() => silent.proxy.accepted > held, 5_000, 'a reconnection attempt');
    const closing = performance.now();
    await pools.splice(0)[0]!.close();
    expect(performance.now() - closing).toBeLessThan(2_000);
  }, 30_000);

  it('leaves no connection open behind a reconnection attempt to an endpoint that never answers (grpc/grpc-node#2785)', async () => {
    const [good, silent] = await Promise.all([proxiedWorker(), proxiedWorker()]);
    silent.proxy.blackhole();
    await remotePool([good.proxy.endpoint, silent.proxy.endpoint], { startTimeout: 300 });
    // The pool's start tried once; its reconnections (backoff 0, 100, 250, 500 ms...) try again, each held until startTimeout.
    await waitUntil(() => silent.proxy.accepted >= 5, 20_000, 'five connection attempts');

    await waitUntil(() => silent.proxy.connections <= 1, 5_000, 'the abandoned attempts to close their connections');
    expect(silent.proxy.connections).toBeLessThanOrEqual(1);
  }, 40_000);
});

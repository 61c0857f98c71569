/**
 * `createPool({ discover })` with real `serve` endpoints on loopback
 * addresses (127.0.0.2, .3, ...: the whole of 127/8 is loopback on Linux),
 * all on one port as a Service's pods are, and an injected lookup whose
 * answers each spec changes, as DNS changes while a Deployment scales.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool, type Chunk, type DiscoveredAddress, type PoolOptions, type SnakepitPool } from '../lib/index.js';
import { markerPath, nextEvent, rejectionOf, waitUntil } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const TOKEN = 'discovery-token';
const DNS = 'snakepit-workers.test';

/** What the injected lookup answers: addresses, or a failure. */
class Resolver {
  answer: string[] | Error = [];
  lookups = 0;
  readonly lookup = (hostname: string): Promise<DiscoveredAddress[]> => {
    this.lookups += 1;
    if (hostname !== DNS) return Promise.reject(new Error(`unexpected name ${hostname}`));
    const { answer } = this;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer.map((address) => ({ address, family: 4 })));
  };
}

function finalWorker(chunks: readonly Chunk<unknown>[]): string | undefined {
  return chunks.at(-1)?.metadata['worker_id'];
}

function expectSequence(chunks: readonly Chunk<{ seq: number } | null>[], n: number): void {
  expect(chunks.map((chunk) => chunk.index)).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
  expect(chunks.slice(0, n).map((chunk) => chunk.data?.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(chunks.at(-1)?.isFinal).toBe(true);
}

describe('discover: a pool that follows a DNS name', () => {
  const workers: StandaloneWorker[] = [];
  const pools: SnakepitPool[] = [];
  const silent: { server: Server; sockets: Set<Socket> }[] = [];

  /** `count` serve endpoints on 127.0.0.2, .3, ..., all on the same port. */
  async function endpoints(count: number, extraArgs: string[] = []): Promise<StandaloneWorker[]> {
    const first = await serveWorker({ token: TOKEN, host: '127.0.0.2', extraArgs });
    workers.push(first);
    const others = await Promise.all(
      Array.from({ length: count - 1 }, (_, index) =>
        serveWorker({ token: TOKEN, host: `127.0.0.${index + 3}`, port: first.port, extraArgs }),
      ),
    );
    workers.push(...others);
    return [first, ...others];
  }

  /** An address that accepts connections on `port` and never answers, as a pod whose server is stuck. */
  async function silentAddress(host: string, port: number): Promise<void> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(port, host);
    await once(server, 'listening');
    silent.push({ server, sockets });
  }

  async function discoveringPool(resolver: Resolver, port: number, options: Partial<PoolOptions> = {}): Promise<SnakepitPool> {
    const { discover, ...rest } = options;
    const pool = await createPool({
      adapter: 'test_adapter.TestAdapter',
      discover: { dns: DNS, port, refreshInterval: 100, lookup: resolver.lookup, ...discover },
      token: TOKEN,
      startTimeout: 2_000,
      healthCheckInterval: 200,
      healthCheckTimeout: 1_000,
      ...rest,
    });
    pools.push(pool);
    return pool;
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    for (const { server, sockets } of silent.splice(0)) {
      server.close();
      for (const socket of sockets) socket.destroy();
    }
  });

  it('scales from 1 to 3 endpoints under load: the new ones join, and calls started after the change run on every endpoint', async () => {
    const [a, b, c] = (await endpoints(3)) as [StandaloneWorker, StandaloneWorker, StandaloneWorker];
    const resolver = new Resolver();
    resolver.answer = [a.host];
    const pool = await discoveringPool(resolver, a.port);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 1 });
    expect(pool.size).toBe(1);

    // Load: more streams than one endpoint can run, kept going while the Deployment scales.
    let loading = true;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        const runs: Chunk<{ seq: number } | null>[][] = [];
        while (loading)
          runs.push(await lastValueFrom(pool.stream<{ seq: number } | null>('sequence', { n: 20, delay: 0.002 }).pipe(toArray())));
        return runs;
      }),
    );
    await waitUntil(() => pool.stats().queued > 0, 5_000, 'calls to queue');
    const joined = [b, c].map((worker) => nextEvent(pool, 'endpoint_added', (event) => event.endpoint === worker.endpoint));
    resolver.answer = [a.host, b.host, c.host];
    expect(await Promise.all(joined)).toEqual([
      expect.objectContaining({ endpoint: b.endpoint, capacity: 1 }),
      expect.objectContaining({ endpoint: c.endpoint, capacity: 1 }),
    ]);
    expect(pool.stats()).toMatchObject({ endpoints: 3, slots: 3 });
    expect(pool.size).toBe(3);

    const after = await Promise.all(
      Array.from({ length: 9 }, () =>
        lastValueFrom(pool.stream<{ seq: number } | null>('sequence', { n: 10, delay: 0.01 }).pipe(toArray())),
      ),
    );
    expect(new Set(after.map(finalWorker))).toEqual(new Set([a.endpoint, b.endpoint, c.endpoint]));
    loading = false;
    for (const runs of await load) for (const chunks of runs) expectSequence(chunks, 20);
    expect(pool.stats().errors).toBe(0);
  }, 60_000);

  it('scales from 3 to 1 with streams running: every stream completes, in order, nothing twice; the others drain, then close', async () => {
    const [a, b, c] = (await endpoints(3)) as [StandaloneWorker, StandaloneWorker, StandaloneWorker];
    const resolver = new Resolver();
    resolver.answer = [a.host, b.host, c.host];
    const pool = await discoveringPool(resolver, a.port);
    let started = 0;
    const streams = Array.from({ length: 3 }, () => {
      const chunks: Chunk<{ seq: number } | null>[] = [];
      const done = pool.executeStream<{ seq: number } | null>('sequence', { n: 150, delay: 0.01 }, (chunk) => {
        if (chunk.index === 0) started += 1;
        chunks.push(chunk);
      });
      return { chunks, done };
    });
    await waitUntil(() => started === 3, 10_000, 'a stream on each endpoint');

    const removed = [b, c].map((worker) => nextEvent(pool, 'endpoint_removed', (event) => event.endpoint === worker.endpoint));
    const closed = [b, c].map((worker) => nextEvent(pool, 'worker_exited', (event) => event.workerId === worker.endpoint, 20_000));
    resolver.answer = [a.host];
    expect(await Promise.all(removed)).toEqual([
      expect.objectContaining({ endpoint: b.endpoint, capacity: 1 }),
      expect.objectContaining({ endpoint: c.endpoint, capacity: 1 }),
    ]);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 1, busy: 3 });
    // Calls made while the others drain go to the one left.
    const meanwhile = pool.execute<{ pid: number }>('whoami');

    await Promise.all(streams.map(({ done }) => done));
    for (const { chunks } of streams) expectSequence(chunks, 150);
    expect(new Set(streams.map(({ chunks }) => finalWorker(chunks)))).toEqual(new Set([a.endpoint, b.endpoint, c.endpoint]));
    await expect(meanwhile).resolves.toEqual({ pid: a.process.pid });
    expect(await Promise.all(closed)).toEqual([expect.objectContaining({ expected: true }), expect.objectContaining({ expected: true })]);
    expect(pool.stats()).toMatchObject({ workers: 1, endpoints: 1, slots: 1, errors: 0 });
  }, 60_000);

  it('fails a call still running on a removed endpoint at drainTimeout with worker_unavailable, after its chunks', async () => {
    const [a, b] = (await endpoints(2)) as [StandaloneWorker, StandaloneWorker];
    const resolver = new Resolver();
    resolver.answer = [a.host, b.host];
    const pool = await discoveringPool(resolver, a.port, { discover: { dns: DNS, port: a.port, drainTimeout: 300 } });
    const seqs: number[] = [];
    let onB!: () => void;
    const running = new Promise<void>((resolve) => (onB = resolve));
    const outcomes = [1, 2].map(() =>
      rejectionOf(
        pool.executeStream<{ seq: number; pid: number }>('ticker', { marker: markerPath(), interval: 0.01 }, (chunk) => {
          if (chunk.data.pid !== b.process.pid) return;
          seqs.push(chunk.data.seq);
          onB();
        }),
      ),
    );
    await running;
    const removedAt = performance.now();
    resolver.answer = [a.host];
    const failure = await Promise.race(outcomes);
    expect(failure).toMatchObject({ code: 'worker_unavailable', workerId: b.endpoint });
    expect(performance.now() - removedAt).toBeGreaterThanOrEqual(300);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    await pool.close();
    expect((await Promise.all(outcomes)).map((error) => error.code).sort()).toEqual(['pool_closed', 'worker_unavailable']);
  }, 30_000);

  it('never uses an address that resolves but never answers, and fails no caller for it', async () => {
    const [a] = (await endpoints(1)) as [StandaloneWorker];
    await silentAddress('127.0.0.5', a.port);
    await silentAddress('127.0.0.6', a.port);
    const resolver = new Resolver();
    resolver.answer = [a.host, '127.0.0.5'];
    const pool = await discoveringPool(resolver, a.port, { startTimeout: 500 });
    const added: string[] = [];
    const watch = pool.events$.subscribe((event) => {
      if (event.type === 'endpoint_added') added.push(event.endpoint);
    });
    resolver.answer = [a.host, '127.0.0.5', '127.0.0.6'];
    const results = await Promise.all(Array.from({ length: 20 }, () => pool.execute<{ pid: number }>('whoami')));
    expect(new Set(results.map(({ pid }) => pid))).toEqual(new Set([a.process.pid]));
    await waitUntil(() => resolver.lookups > 10, 10_000, 'a few more lookups');
    watch.unsubscribe();
    expect(added).toEqual([]);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 1, errors: 0 });
    expect(pool.size).toBe(1);
  }, 30_000);

  it('keeps its endpoints when the lookup fails or finds nothing, and says so', async () => {
    const [a, b] = (await endpoints(2)) as [StandaloneWorker, StandaloneWorker];
    const resolver = new Resolver();
    resolver.answer = [a.host, b.host];
    const pool = await discoveringPool(resolver, a.port);

    for (const answer of [new Error('queryA ESERVFAIL snakepit-workers.test'), []]) {
      const failed = nextEvent(pool, 'discovery_failed');
      resolver.answer = answer;
      expect(await failed).toMatchObject({
        dns: DNS,
        error: { code: 'worker_unavailable', message: expect.stringContaining('the pool keeps its 2 endpoints') },
      });
      expect(pool.stats()).toMatchObject({ endpoints: 2, slots: 2 });
      const pids = await Promise.all([1, 2].map(() => pool.execute<{ pid: number }>('whoami')));
      expect(new Set(pids.map(({ pid }) => pid))).toEqual(new Set([a.process.pid, b.process.pid]));
    }
  }, 30_000);

  it('resolves the name again at once when an endpoint fails, and drains one that is gone from it', async () => {
    const [a, b] = (await endpoints(2)) as [StandaloneWorker, StandaloneWorker];
    const resolver = new Resolver();
    resolver.answer = [a.host, b.host];
    const pool = await discoveringPool(resolver, a.port, { discover: { dns: DNS, port: a.port, refreshInterval: 600_000 } });
    const lookups = resolver.lookups;
    const removed = nextEvent(pool, 'endpoint_removed', (event) => event.endpoint === b.endpoint);
    resolver.answer = [a.host];
    await b.stop();
    await removed;
    expect(resolver.lookups).toBeGreaterThan(lookups);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 1 });
    await expect(pool.execute<{ pid: number }>('whoami')).resolves.toEqual({ pid: a.process.pid });
  }, 30_000);

  it('fails to start when the name does not resolve, or resolves to no address', async () => {
    const resolver = new Resolver();
    resolver.answer = new Error('getaddrinfo ENOTFOUND snakepit-workers.test');
    expect(await rejectionOf(discoveringPool(resolver, 50051))).toMatchObject({
      code: 'worker_unavailable',
      message: expect.stringContaining('ENOTFOUND'),
    });
    resolver.answer = [];
    expect(await rejectionOf(discoveringPool(resolver, 50051))).toMatchObject({ code: 'worker_unavailable' });
  });

  it('refuses bad discover options with invalid_arguments naming the option', async () => {
    const base = { adapter: 'test_adapter.TestAdapter' };
    const discover = { dns: DNS, port: 50051 };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ discover, endpoints: ['127.0.0.1:1'] }, /`discover` or `endpoints`, not both/],
      [{ discover, size: 2 }, /`size` does not apply with `discover`/],
      [{ discover: 'dns' }, /`discover` must be an object/],
      [{ discover: { port: 50051 } }, /`discover.dns` must be a host name/],
      [{ discover: { dns: 'name:50051', port: 50051 } }, /`discover.dns` must be a host name \(without a port\)/],
      [{ discover: { dns: DNS } }, /`discover.port` must be an integer from 1 to 65535/],
      [{ discover: { dns: DNS, port: 70_000 } }, /`discover.port`/],
      [{ discover: { ...discover, refreshInterval: 0 } }, /`discover.refreshInterval` must be a positive number/],
      [{ discover: { ...discover, refreshInterval: 2 ** 32 } }, /`discover.refreshInterval` must be at most/],
      [{ discover: { ...discover, drainTimeout: -1 } }, /`discover.drainTimeout` must be a number >= 0/],
      [{ discover: { ...discover, lookup: 'dns' } }, /`discover.lookup` must be a function/],
      [{ discover: { ...discover, refresh: 100 } }, /`discover.refresh` is not an option/],
      [{ discover, logLevel: 'DEBUG' }, /`logLevel` applies to child workers/],
    ];
    for (const [options, message] of cases) {
      const error = await rejectionOf(createPool({ ...base, ...options }));
      expect(error.code, JSON.stringify(options)).toBe('invalid_arguments');
      expect(error.message).toMatch(message);
    }
  });
});

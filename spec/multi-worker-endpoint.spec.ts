/**
 * Endpoints of `python -m snakepit_bridge serve --workers N`: one port, N
 * worker processes behind its dispatcher, each call in one of them. Real
 * `serve` processes; the pids the tools report tell which process ran what.
 */
import { lastValueFrom, take, toArray } from 'rxjs';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BridgeConnection } from '../lib/contract/bridge-connection.js';
import { createPool, type PoolEvent, type PoolOptions, type SnakepitPool } from '../lib/index.js';
import { heldBackStream, isAlive, markerEvents, markerPath, rejectionOf, reportFigure, waitUntil } from './support/pools.js';
import { serveWorker, type StandaloneWorker } from './support/serve.js';

const TOKEN = 'multi-worker-token';

interface Ticking {
  /** The process running it, from its first chunk. */
  readonly pid: number;
  /** Chunks received so far. */
  readonly seqs: number[];
  /** Its error, once it fails (or is stopped: `cancelled`). */
  readonly outcome: Promise<unknown>;
  stop(): void;
}

describe('an endpoint of serve --workers N', () => {
  const endpoints: StandaloneWorker[] = [];
  const pools: SnakepitPool[] = [];

  async function endpoint(
    workers: number,
    extraArgs: string[] = [],
    more: Parameters<typeof serveWorker>[0] = {},
  ): Promise<StandaloneWorker> {
    const served = await serveWorker({ token: TOKEN, extraArgs: ['--workers', String(workers), ...extraArgs], ...more });
    endpoints.push(served);
    return served;
  }

  async function poolOf(served: StandaloneWorker, options: Partial<PoolOptions> = {}): Promise<SnakepitPool> {
    const pool = await createPool({
      adapter: 'test_adapter.TestAdapter',
      endpoints: [served.endpoint],
      token: TOKEN,
      healthCheckInterval: 200,
      healthCheckTimeout: 1_000,
      ...options,
    });
    pools.push(pool);
    return pool;
  }

  /** Starts an endless stream of the tool's pid; resolves once its first chunk arrived. */
  async function tick(pool: SnakepitPool, options: { sessionId?: string; marker?: string } = {}): Promise<Ticking> {
    const controller = new AbortController();
    const seqs: number[] = [];
    let first!: (pid: number) => void;
    const pid = new Promise<number>((resolve) => (first = resolve));
    const outcome = pool
      .executeStream<{ seq: number; pid: number }>(
        'ticker',
        { marker: options.marker ?? markerPath(), interval: 0.005 },
        (chunk) => {
          seqs.push(chunk.data.seq);
          first(chunk.data.pid);
        },
        { signal: controller.signal, sessionId: options.sessionId },
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    return { pid: await pid, seqs, outcome, stop: () => controller.abort() };
  }

  /** Makes the endpoint's processes fail to start, and kills them; resolves once its Ping says none runs. */
  async function breakProcesses(served: StandaloneWorker, marker: string): Promise<void> {
    writeFileSync(marker, '');
    for (const pid of served.descendants()) process.kill(pid, 'SIGKILL');
    const probe = new BridgeConnection(served.endpoint, { token: TOKEN, maxMessageBytes: 1024 * 1024 });
    try {
      // Ping fails once the dispatcher has seen both processes go.
      for (let answered = true; answered;) {
        answered = await probe.ping(new Date(Date.now() + 5_000)).then(
          () => true,
          () => false,
        );
      }
    } finally {
      probe.close();
    }
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(endpoints.splice(0).map((served) => served.stop()));
  });

  it('--workers 4 serves 4 streams at once from one port, each in a busy process of its own; a fifth call waits in the pool', async () => {
    const served = await endpoint(4);
    const pool = await poolOf(served);
    expect(pool.size).toBe(4);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 4, workers: 1 });

    const streams = await Promise.all([1, 2, 3, 4].map(() => tick(pool)));
    const pids = streams.map((stream) => stream.pid);
    expect(new Set(pids).size).toBe(4);
    expect(pids).not.toContain(served.process.pid);
    const below = served.descendants();
    for (const pid of pids) expect(below).toContain(pid);
    // Each one is busy: all four keep producing at once.
    const counts = streams.map((stream) => stream.seqs.length);
    await waitUntil(() => streams.every((stream, index) => stream.seqs.length > counts[index]! + 10), 5_000, 'all four to keep producing');
    expect(pool.stats()).toMatchObject({ busy: 4, idle: 0 });

    const fifth = pool.execute<{ pid: number }>('whoami');
    await waitUntil(() => pool.stats().queued === 1, 5_000, 'the fifth call to queue');
    streams[2]!.stop();
    await expect(fifth).resolves.toEqual({ pid: pids[2] });
    for (const stream of streams) stream.stop();
    for (const stream of streams) expect(await stream.outcome).toMatchObject({ code: 'cancelled' });
  }, 30_000);

  it('a process that crashes fails only its call, with worker_crashed; the endpoint serves on with a replacement', async () => {
    const served = await endpoint(2);
    const pool = await poolOf(served);
    const events: PoolEvent[] = [];
    const watch = pool.events$.subscribe((event) => events.push(event));
    const [victim, survivor] = await Promise.all([tick(pool), tick(pool)]);

    const killedAt = performance.now();
    process.kill(victim.pid, 'SIGKILL');
    const error = await rejectionOf(victim.outcome.then((outcome) => Promise.reject(outcome)));
    reportFigure('a worker process of serve --workers 2 killed mid-stream to worker_crashed', performance.now() - killedAt, 'ms');
    expect(error.code).toBe('worker_crashed');
    expect(error.message).toContain(`(pid ${victim.pid}) died while running 'ticker'`);
    expect(victim.seqs).toEqual(Array.from({ length: victim.seqs.length }, (_, i) => i));
    const before = survivor.seqs.length;
    await waitUntil(() => survivor.seqs.length > before + 20, 5_000, 'the other stream to go on');
    survivor.stop();
    expect(await survivor.outcome).toMatchObject({ code: 'cancelled' });

    const pids = await waitForPids(pool, 2);
    expect(pids).not.toContain(victim.pid);
    expect(pids).toContain(survivor.pid);
    watch.unsubscribe();
    expect(events.filter((event) => event.type === 'worker_exited' || event.type === 'endpoint_removed')).toEqual([]);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 2 });
  }, 30_000);

  it('a process that stops answering is killed within --worker-timeout; its call fails with worker_crashed, the others go on', async () => {
    const served = await endpoint(2, ['--worker-timeout', '0.5']);
    const pool = await poolOf(served);
    const [hung, other] = await Promise.all([tick(pool), tick(pool)]);

    const stoppedAt = performance.now();
    process.kill(hung.pid, 'SIGSTOP');
    const error = await rejectionOf(hung.outcome.then((outcome) => Promise.reject(outcome)));
    expect(error.code).toBe('worker_crashed');
    expect(error.message).toContain('did not answer its health ping within 0.5 s');
    expect(performance.now() - stoppedAt).toBeLessThan(3_000);
    reportFigure(
      'a worker process of serve --workers 2 stopped mid-stream to worker_crashed (--worker-timeout 0.5)',
      performance.now() - stoppedAt,
      'ms',
    );
    await waitUntil(() => !isAlive(hung.pid), 5_000, 'the hung process to be gone');
    const before = other.seqs.length;
    await waitUntil(() => other.seqs.length > before + 20, 5_000, 'the other stream to go on');
    other.stop();
    expect(await waitForPids(pool, 2)).not.toContain(hung.pid);
  }, 30_000);

  it("keeps a session on one process of the endpoint, and a strict session's call waits for that process", async () => {
    const served = await endpoint(3);
    const pool = await poolOf(served);
    const sessionPid = async (sessionId: string) => (await pool.execute<{ pid: number }>('whoami', {}, { sessionId })).pid;
    const first = { s1: await sessionPid('s1'), s2: await sessionPid('s2') };
    for (let round = 0; round < 4; round += 1) {
      await pool.execute('whoami');
      expect(await sessionPid('s1')).toBe(first.s1);
      expect(await sessionPid('s2')).toBe(first.s2);
    }

    // s1's process is busy with another of its calls: a strict call of s1 waits for it, though two are free.
    const holding = await tick(pool, { sessionId: 's1' });
    expect(holding.pid).toBe(first.s1);
    let answered: number | undefined;
    const strict = pool
      .execute<{ pid: number }>('whoami', {}, { sessionId: 's1', sessionAffinity: 'strict' })
      .then(({ pid }) => (answered = pid));
    const before = holding.seqs.length;
    await waitUntil(() => holding.seqs.length > before + 20, 5_000, 'the holding stream to go on');
    expect(answered).toBeUndefined();
    holding.stop();
    await strict;
    expect(answered).toBe(first.s1);
  }, 30_000);

  it("a cancel goes through the dispatcher to the generator's finally; the process serves the next call", async () => {
    const served = await endpoint(2);
    const pool = await poolOf(served);
    const killed: PoolEvent[] = [];
    const watch = pool.events$.subscribe((event) => event.type === 'worker_killed' && killed.push(event));
    const marker = markerPath();
    const chunks = await lastValueFrom(
      pool.stream<{ seq: number; pid: number }>('ticker', { marker, interval: 0.001 }).pipe(take(5), toArray()),
    );
    expect(chunks.map((chunk) => chunk.data.seq)).toEqual([0, 1, 2, 3, 4]);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, "the generator's finally");
    expect(markerEvents(marker)).toEqual(['started', 'closed']);
    expect(await waitForPids(pool, 2)).toContain(chunks[0]!.data.pid);
    watch.unsubscribe();
    expect(killed).toEqual([]);
  }, 30_000);

  it('a slow consumer holds the generator back through the dispatcher, and then gets every chunk in order', async () => {
    const served = await endpoint(2);
    const pool = await poolOf(served);
    const total = 20_000;
    const { received, done, release, produced } = heldBackStream(pool, total);
    expect(await produced(300)).toBeLessThan(total / 2);
    expect(received).toHaveLength(1);
    release();
    await done;
    expect(received.slice(0, total).map((chunk) => chunk.data?.seq)).toEqual(Array.from({ length: total }, (_, i) => i));
  }, 60_000);

  it('an endpoint none of whose processes can start refuses calls; the pool runs them on another endpoint', async () => {
    const broken = markerPath();
    const fragile = { adapter: 'test_adapter.FragileAdapter', env: { SNAKEPIT_TEST_FAIL_MARKER: broken } };
    const failing = await endpoint(2, [], fragile);
    const healthy = await endpoint(2, [], fragile);
    // No health checks: the refused calls, not Ping, take the failing endpoint out of service here.
    const pool = await createPool({
      adapter: 'test_adapter.FragileAdapter',
      endpoints: [failing.endpoint, healthy.endpoint],
      token: TOKEN,
      healthCheckInterval: 0,
    });
    pools.push(pool);
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));

    await breakProcesses(failing, broken);

    // The pool gives one of two calls at once to each endpoint: the failing one refuses its call, which runs on the other.
    const ran = await Promise.all([0, 1].map(() => pool.execute<{ pid: number }>('whoami')));
    const pids = ran.map(({ pid }) => pid);
    expect(pids.every((pid) => healthy.descendants().includes(pid))).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'worker_exited', workerId: failing.endpoint, expected: false }));
    expect(pool.stats()).toMatchObject({ endpoints: 1 });
  });

  it('a pool whose only endpoint runs no process gets worker_unavailable at once rather than waiting', async () => {
    const broken = markerPath();
    const served = await endpoint(2, [], { adapter: 'test_adapter.FragileAdapter', env: { SNAKEPIT_TEST_FAIL_MARKER: broken } });
    const pool = await poolOf(served, { adapter: 'test_adapter.FragileAdapter', healthCheckInterval: 0 });
    await breakProcesses(served, broken);

    const error = await rejectionOf(pool.execute('whoami'));
    expect(error.code).toBe('worker_unavailable');
    expect(error.message).toContain('no worker process is running and replacements keep failing');
    expect(error.message).toContain('the model cannot load');
  });

  it('joins a pool through discover with the capacity its Ping reports', async () => {
    const served = await endpoint(3);
    const pool = await createPool({
      adapter: 'test_adapter.TestAdapter',
      discover: { dns: 'workers.test', port: served.port, lookup: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]) },
      token: TOKEN,
    });
    pools.push(pool);
    expect(pool.size).toBe(3);
    expect(pool.stats()).toMatchObject({ endpoints: 1, slots: 3 });
    await expect(pool.execute<number>('add', { a: 1, b: 2 })).resolves.toBe(3);
  });
});

/** Runs `count` calls at once until each runs in a process of its own; their pids (a replacement takes a moment to start). */
async function waitForPids(pool: SnakepitPool, count: number): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answers = await Promise.all(
      Array.from({ length: count }, () => lastValueFrom(pool.stream<{ pid: number }>('pid_then_wait', { seconds: 0.05 }).pipe(take(1)))),
    );
    const pids = new Set(answers.map((chunk) => chunk.data.pid));
    if (pids.size === count) return [...pids];
    if (Date.now() > deadline) throw new Error(`no ${count} processes answering at once within 10 s`);
  }
}

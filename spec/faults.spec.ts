import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createPool } from '../lib/index.js';
import { FIXTURES, isAlive, markerEvents, markerPath, nextEvent, rejectionOf, reportFigure, waitUntil, withPool } from './support/pools.js';

describe('a worker killed mid-stream', () => {
  it('fails the stream with worker_crashed within a second, 20 times over; the pool heals each time', async () => {
    await withPool({ size: 2 }, async (pool) => {
      const delays: number[] = [];
      const healing: number[] = [];
      for (let round = 0; round < 20; round += 1) {
        const restarted = nextEvent(pool, 'worker_restarted');
        let killedAt = 0;
        const error = await rejectionOf(
          pool.executeStream<{ pid?: number }>('pid_then_wait', {}, (chunk) => {
            if (chunk.data?.pid === undefined) return;
            killedAt = performance.now();
            process.kill(chunk.data.pid, 'SIGKILL');
          }),
        );
        delays.push(performance.now() - killedAt);
        expect(error.code).toBe('worker_crashed');
        expect(error.workerId).toMatch(/^worker-\d+$/);
        await restarted;
        healing.push(performance.now() - killedAt);
        expect(pool.stats()).toMatchObject({ workers: 2, queued: 0 });
        await expect(pool.execute('add', { a: round, b: 1 })).resolves.toBe(round + 1);
      }
      expect(Math.max(...delays)).toBeLessThan(1000);
      expect(pool.stats().restarts).toBe(20);
      reportFigure('SIGKILL to worker_crashed error, worst of 20', Math.max(...delays), 'ms');
      reportFigure('SIGKILL to replacement serving, median of 20', healing.sort((x, y) => x - y)[10]!, 'ms');
    });
  }, 60_000);

  it('takes the processes its tools started along when a worker dies', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const child = await pool.execute<number>('spawn_child');
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const restarted = nextEvent(pool, 'worker_restarted');
      process.kill(pid, 'SIGKILL');
      await restarted;
      await waitUntil(() => !isAlive(child), 3_000, "the tool's child process to be gone");
    });
  });
});

describe('a call sent to an idle worker that just died', () => {
  it('runs once on another worker, unary or streaming, 10 times over', async () => {
    await withPool({ size: 1 }, async (pool) => {
      for (let round = 0; round < 10; round += 1) {
        const { pid } = await pool.execute<{ pid: number }>('whoami');
        const marker = markerPath();
        process.kill(pid, 'SIGKILL');
        if (round % 2 === 0) {
          await expect(pool.execute('wait_for_cancel', { marker, seconds: 0 })).resolves.toBe(false);
          expect(markerEvents(marker)).toEqual(['started', 'finished']);
        } else {
          const chunks = await lastValueFrom(pool.stream('counted', { marker }).pipe(take(3), toArray()));
          expect(chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2]);
          expect(markerEvents(marker)).toEqual(['run']);
        }
        expect(isAlive(pid)).toBe(false);
      }
    });
  });

  it('is never retried once the worker had it: a tool that ends its own worker runs once and fails with worker_crashed', async () => {
    await withPool({ size: 2 }, async (pool) => {
      const runs = [
        (marker: string) => pool.execute('exit_worker', { marker }),
        (marker: string) => lastValueFrom(pool.stream('exit_worker_streaming', { marker })),
      ];
      // Rounds, as the race it guards against (the tool ending its worker before the acknowledgment left)
      // showed only now and then: 3 runs in 12 of this spec on a loaded machine, with one round each.
      for (let round = 0; round < 3; round += 1) {
        for (const run of runs) {
          const marker = markerPath();
          expect((await rejectionOf(run(marker))).code).toBe('worker_crashed');
          await pool.execute('add', { a: 1, b: 1 });
          expect(markerEvents(marker)).toEqual(['run']);
        }
      }
    });
  });
});

describe('cancellation at three depths', () => {
  it('a sync tool sees is_cancelled() once its call is cancelled', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const marker = markerPath();
      await firstValueFrom(pool.stream('cooperative', { marker }));
      await waitUntil(() => markerEvents(marker).includes('noticed'), 5_000, 'the tool to notice');
    });
  });

  it('an async tool wakes from wait_cancelled() once its call is cancelled', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const marker = markerPath();
      await firstValueFrom(pool.stream('async_cooperative', { marker }));
      await waitUntil(() => markerEvents(marker).includes('noticed'), 5_000, 'the tool to notice');
    });
  });

  it.each([
    ['unsubscribed', {}],
    ['timed out', { timeout: 300 }],
  ])('a tool that ignores cancellation loses its worker after the grace period once %s; the pool keeps serving', async (_, options) => {
    await withPool({ size: 1, cancelGracePeriod: 200 }, async (pool) => {
      const marker = markerPath();
      const killed = nextEvent(pool, 'worker_killed');
      const restarted = nextEvent(pool, 'worker_restarted');
      const since = performance.now();
      const outcome = await new Promise<unknown>((resolve) => {
        const subscription = pool.stream<{ pid: number }>('hang', { marker }, options).subscribe({
          next: () => {
            if (!('timeout' in options)) {
              subscription.unsubscribe();
              resolve('unsubscribed');
            }
          },
          error: resolve,
        });
      });
      if ('timeout' in options) expect(outcome).toMatchObject({ code: 'timeout', tool: 'hang', workerId: expect.any(String) });
      expect(await killed).toMatchObject({ reason: 'ignored_cancellation' });
      await restarted;
      reportFigure(`hung tool ${_} to replacement serving (grace 200 ms)`, performance.now() - since, 'ms');
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    });
  });

  it('never retries a cancelled call', async () => {
    await withPool({ size: 1, cancelGracePeriod: 200 }, async (pool) => {
      const marker = markerPath();
      const controller = new AbortController();
      const error = await rejectionOf(
        pool.executeStream(
          'counted',
          { marker },
          (chunk) => {
            if (chunk.index === 3) controller.abort();
          },
          { signal: controller.signal },
        ),
      );
      expect(error.code).toBe('cancelled');
      await pool.execute('echo', { value: 'the worker is back' });
      expect(markerEvents(marker)).toEqual(['run']);
    });
  });
});

describe('closing with streams in flight', () => {
  it('without drain: running streams fail with pool_closed, generators are closed', async () => {
    await withPool({ size: 2 }, async (pool) => {
      const marker = markerPath();
      const running = rejectionOf(pool.executeStream('ticker', { marker }, () => undefined));
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the stream to start');
      await pool.close();
      expect((await running).code).toBe('pool_closed');
      expect(markerEvents(marker)).toEqual(['started', 'closed']);
    });
  });

  it('with drain: running streams finish, queued and new calls fail with pool_closed', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const started = nextEvent(pool, 'call_started');
      const chunks = lastValueFrom(pool.stream<{ seq: number }>('sequence', { n: 20, delay: 0.01 }).pipe(toArray()));
      await started;
      const queued = rejectionOf(pool.execute('add', { a: 1, b: 2 }));
      const closing = pool.close({ drain: true, drainTimeout: 10_000 });
      expect((await queued).code).toBe('pool_closed');
      expect((await rejectionOf(pool.execute('add', { a: 1, b: 2 }))).code).toBe('pool_closed');
      const received = await chunks;
      expect(received.map((chunk) => chunk.data?.seq)).toEqual([...Array.from({ length: 20 }, (_, i) => i), undefined]);
      await closing;
    });
  });

  it('with drain: streams still running at the drain deadline fail with pool_closed', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const marker = markerPath();
      const running = rejectionOf(pool.executeStream('ticker', { marker }, () => undefined));
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the stream to start');
      await pool.close({ drain: true, drainTimeout: 200 });
      expect((await running).code).toBe('pool_closed');
    });
  });

  it('ends a worker still starting (its adapter loading), rather than wait for its start', async () => {
    const hold = markerPath();
    const marker = markerPath();
    // A start timeout longer than the spec's: a close that waited for the start would fail the spec.
    const pool = await createPool({
      adapter: 'test_adapter.SlowToStartAdapter',
      pythonPath: FIXTURES,
      size: 1,
      startTimeout: 60_000,
      env: { SNAKEPIT_TEST_HOLD_FILE: hold, SNAKEPIT_TEST_HOLD_MARKER: marker },
    });
    const { pid } = await pool.execute<{ pid: number }>('whoami');
    writeFileSync(hold, '');
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => markerEvents(marker).includes('held'), 10_000, 'the replacement to be loading its adapter');
    const events: string[] = [];
    pool.events$.subscribe((event) => events.push(event.type));

    try {
      await pool.close({ gracePeriod: 500 });
    } finally {
      rmSync(hold, { force: true });
    }

    expect(events).not.toContain('worker_started');
  });

  it("stops the processes the workers' tools started", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const child = await pool.execute<number>('spawn_child');
      expect(isAlive(child)).toBe(true);
      await pool.close();
      await waitUntil(() => !isAlive(child), 3_000, "the tool's child process to be gone");
    });
  });
});

describe('health and recycling', () => {
  it('replaces a worker that stops answering pings', async () => {
    await withPool({ size: 1, healthCheckInterval: 100, healthCheckTimeout: 300 }, async (pool) => {
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const unhealthy = nextEvent(pool, 'worker_unhealthy');
      const restarted = nextEvent(pool, 'worker_restarted');
      process.kill(pid, 'SIGSTOP');
      await unhealthy;
      await restarted;
      expect(isAlive(pid)).toBe(false);
      const { pid: replacement } = await pool.execute<{ pid: number }>('whoami');
      expect(replacement).not.toBe(pid);
    });
  });

  it.each([
    ['a stream', 'ticker'],
    ['a unary call', 'wait_for_cancel'],
  ])('fails %s whose worker stops answering with worker_crashed within the health interval, and replaces the worker', async (_, tool) => {
    await withPool({ size: 1, healthCheckInterval: 200, healthCheckTimeout: 300 }, async (pool) => {
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const marker = markerPath();
      const restarted = nextEvent(pool, 'worker_restarted');
      const failed = rejectionOf(
        tool === 'ticker' ? pool.executeStream(tool, { marker }, () => undefined) : pool.execute(tool, { marker }),
      );
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the tool to start');
      const stoppedAt = performance.now();
      process.kill(pid, 'SIGSTOP');
      const error = await failed;
      const detected = performance.now() - stoppedAt;
      expect(error.code).toBe('worker_crashed');
      // A ping is sent every 200 ms and given 300 ms: the worker is found out within 500 ms, plus scheduling.
      expect(detected).toBeLessThan(2_000);
      reportFigure(`busy worker stopped (SIGSTOP) to ${_} failing (interval 200 ms, timeout 300 ms)`, detected, 'ms');
      await restarted;
      expect(isAlive(pid)).toBe(false);
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    });
  });

  it('keeps a busy worker whose consumer holds the stream back: it still answers its pings', async () => {
    // A timeout well under the hold but not so tight that a loaded machine misses a ping while the worker starts.
    await withPool({ size: 1, healthCheckInterval: 50, healthCheckTimeout: 1_000 }, async (pool) => {
      const unhealthy: unknown[] = [];
      pool.events$.subscribe((event) => {
        if (event.type === 'worker_unhealthy') unhealthy.push(event);
      });
      const progress = markerPath();
      let first = true;
      // The callback holds the first chunk for 3 s: reading pauses, the worker's sends block.
      await pool.executeStream('produce', { n: 5_000, size: 4096, progress }, async () => {
        if (!first) return;
        first = false;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      });
      expect(unhealthy).toEqual([]);
      expect(pool.stats().restarts).toBe(0);
    });
  });

  it('replaces a worker after maxCallsPerWorker calls, between calls', async () => {
    await withPool({ size: 1, maxCallsPerWorker: 3 }, async (pool) => {
      const pids: number[] = [];
      for (let call = 0; call < 7; call += 1) pids.push((await pool.execute<{ pid: number }>('whoami')).pid);
      expect(new Set(pids.slice(0, 3)).size).toBe(1);
      expect(new Set(pids.slice(3, 6)).size).toBe(1);
      expect(pids[3]).not.toBe(pids[0]);
      expect(pids[6]).not.toBe(pids[3]);
    });
  });

  it('replaces a worker once it has lived workerTtl, never during a call', async () => {
    await withPool({ size: 1, workerTtl: 300, healthCheckInterval: 0 }, async (pool) => {
      const recycled = nextEvent(pool, 'worker_recycled');
      const chunks = await lastValueFrom(pool.stream('sequence', { n: 5, delay: 0.1 }).pipe(toArray()));
      expect(chunks).toHaveLength(6);
      expect(await recycled).toMatchObject({ reason: 'ttl' });
    });
  });

  it.each([
    ['its initialize() raises', {}, { pythonType: 'RuntimeError' }],
    ['its import hangs past startTimeout', { SNAKEPIT_SPEC_HANG_AT_IMPORT: '1' }, { message: expect.stringMatching(/within 1000 ms/) }],
  ])(
    'leaves nothing behind when a worker fails to start (%s), not even a process its adapter started in a session of its own',
    async (_, env, expected) => {
      const helperPid = markerPath();
      const failure = await rejectionOf(
        createPool({
          adapter: 'failing_start_adapter.FailingStartAdapter',
          size: 1,
          pythonPath: FIXTURES,
          env: { SNAKEPIT_SPEC_HELPER_PID: helperPid, ...env },
          startTimeout: 1_000,
          onLog: () => undefined,
        }),
      );

      expect(failure).toMatchObject({ code: 'worker_start_failed', ...expected });
      const helper = Number(readFileSync(helperPid, 'utf8'));
      await waitUntil(() => !isAlive(helper), 5_000, 'the process the adapter started to be gone');
    },
  );

  it('marks the pool degraded when replacements keep failing, and fails calls instead of waiting forever', async () => {
    const refuse = markerPath();
    const pool = await createPool({
      adapter: 'refusing_adapter.RefusingAdapter',
      size: 1,
      pythonPath: FIXTURES,
      env: { SNAKEPIT_SPEC_REFUSE: refuse },
      maxRestartAttempts: 2,
      onLog: () => undefined,
    });
    try {
      const pid = await pool.execute<number>('whoami');
      writeFileSync(refuse, 'no more starts');
      const degraded = nextEvent(pool, 'pool_degraded');
      process.kill(pid, 'SIGKILL');
      const { error } = await degraded;
      expect(error.message).toContain('refusing to start');
      expect(pool.stats()).toMatchObject({ degraded: true, workers: 0 });
      const failure = await rejectionOf(pool.execute('whoami'));
      expect(failure.code).toBe('worker_start_failed');
      expect(failure.message).toContain('refusing to start');
    } finally {
      await pool.close();
    }
  });
});

describe('stray output', () => {
  it('a module that prints at import time, and a tool that prints, disturb nothing', async () => {
    const logs: string[] = [];
    const pool = await createPool({
      adapter: 'noisy_adapter.NoisyAdapter',
      size: 1,
      pythonPath: FIXTURES,
      onLog: (line) => logs.push(line),
    });
    try {
      await expect(pool.execute('ping')).resolves.toBe('pong');
      // stderr is a pipe of its own: its lines may arrive after the result.
      await waitUntil(() => logs.includes('noise during a call'), 5_000, 'the printed line');
      expect(logs).toContain('noise at import time');
    } finally {
      await pool.close();
    }
  });

  it('a tool that raises after many chunks delivers them all first', async () => {
    await withPool({ size: 1 }, async (pool) => {
      let count = 0;
      const error = await rejectionOf(
        pool.executeStream<{ seq: number }>('fail_after', { n: 20_000 }, (chunk) => {
          expect(chunk.data.seq).toBe(count);
          count += 1;
        }),
      );
      expect(count).toBe(20_000);
      expect(error.code).toBe('python_error');
    });
  });
});

import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../lib/index.js';
import { markerPath, nextEvent, startTestPool } from './support/pools.js';

describe('pool.events$ and pool.stats()', () => {
  it('reports calls queued, started and finished, with duration, chunk count and outcome', async () => {
    const { pool } = await startTestPool({ size: 1 });
    try {
      const events: PoolEvent[] = [];
      const subscription = pool.events$.subscribe((event) => events.push(event));
      const completed = lastValueFrom(pool.stream('count', { n: 10 }));
      const failed = pool.execute('raise_value_error', { message: 'no' }).catch(() => undefined);
      const unsubscribed = firstValueFrom(pool.stream('ticker', { marker: markerPath() }).pipe(take(3), toArray()));
      await Promise.all([completed, failed, unsubscribed]);
      await pool.execute('add', { a: 1, b: 1 });
      subscription.unsubscribe();

      const calls = events.filter((event) => event.type.startsWith('call_'));
      const finished = calls.filter((event): event is Extract<PoolEvent, { type: 'call_finished' }> => event.type === 'call_finished');
      expect(finished.map(({ tool, outcome, chunks, errorCode }) => ({ tool, outcome, chunks, errorCode }))).toEqual([
        { tool: 'count', outcome: 'completed', chunks: 11, errorCode: undefined },
        { tool: 'raise_value_error', outcome: 'failed', chunks: 0, errorCode: 'python_error' },
        { tool: 'ticker', outcome: 'cancelled', chunks: 3, errorCode: undefined },
        { tool: 'add', outcome: 'completed', chunks: 0, errorCode: undefined },
      ]);
      expect(finished.every((event) => event.durationMs >= 0 && event.workerId === 'worker-1')).toBe(true);
      // `add` may queue too, behind the worker confirming that the ticker stopped.
      expect(
        calls
          .filter((event) => event.type === 'call_queued')
          .map((event) => 'tool' in event && event.tool)
          .slice(0, 2),
      ).toEqual(['raise_value_error', 'ticker']);
      expect(calls.filter((event) => event.type === 'call_started')).toHaveLength(4);
      expect(events.every((event) => typeof event.at === 'number')).toBe(true);
      expect(pool.stats()).toEqual({
        workers: 1,
        endpoints: 0,
        slots: 1,
        busy: 0,
        idle: 1,
        queued: 0,
        calls: 4,
        errors: 1,
        restarts: 0,
        degraded: false,
      });
    } finally {
      await pool.close();
    }
  });

  it('reports workers exiting and restarting, and counts restarts', async () => {
    const { pool } = await startTestPool({ size: 1 });
    try {
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const exited = nextEvent(pool, 'worker_exited');
      const started = nextEvent(pool, 'worker_started');
      const restarted = nextEvent(pool, 'worker_restarted');
      process.kill(pid, 'SIGKILL');
      expect(await exited).toMatchObject({ workerId: 'worker-1', signal: 'SIGKILL', expected: false });
      expect(await started).toMatchObject({ workerId: 'worker-2', pid: expect.any(Number), startupMs: expect.any(Number) });
      expect(await restarted).toMatchObject({ workerId: 'worker-2', replaced: 'worker-1', attempt: 1 });
      expect(pool.stats()).toMatchObject({ workers: 1, restarts: 1 });
    } finally {
      await pool.close();
    }
  });

  it('completes events$ when the pool is closed', async () => {
    const { pool } = await startTestPool({ size: 1 });
    const all = lastValueFrom(pool.events$.pipe(toArray()));
    await pool.close();
    const events = await all;
    expect(events.filter((event) => event.type === 'worker_exited')).toEqual([
      expect.objectContaining({ workerId: 'worker-1', expected: true }),
    ]);
  });
});

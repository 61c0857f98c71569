import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SnakepitError, type SnakepitPool } from '../lib/index.js';
import { markerPath, nextEvent, withPool } from './support/pools.js';

/** Holds the pool's workers with `ticker` streams until `release()`. */
async function occupy(pool: SnakepitPool, count: number): Promise<{ release: () => void }> {
  const subscriptions = await Promise.all(
    Array.from({ length: count }, () => {
      const started = nextEvent(pool, 'call_started');
      const subscription = pool.stream('ticker', { marker: markerPath(), interval: 0.01 }).subscribe();
      return started.then(() => subscription);
    }),
  );
  return { release: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

describe('overload', () => {
  it('fails a call at once with pool_saturated when maxQueue calls already wait', async () => {
    await withPool({ size: 1, maxQueue: 2 }, async (pool) => {
      const busy = await occupy(pool, 1);
      const waiting = [pool.execute('add', { a: 1, b: 1 }), pool.execute('add', { a: 2, b: 2 })];
      const started = performance.now();
      const error = await pool.execute('add', { a: 3, b: 3 }).catch((failure: unknown) => failure);
      expect(performance.now() - started).toBeLessThan(100);
      expect(error).toBeInstanceOf(SnakepitError);
      expect(error).toMatchObject({ code: 'pool_saturated' });
      expect(pool.stats().queued).toBe(2);
      busy.release();
      await expect(Promise.all(waiting)).resolves.toEqual([2, 4]);
    });
  });

  it('fails a call with queue_timeout when no worker frees up in time, and removes it from the queue', async () => {
    await withPool({ size: 1, queueTimeout: 150 }, async (pool) => {
      const busy = await occupy(pool, 1);
      await expect(lastValueFrom(pool.stream('count', { n: 1 }))).rejects.toMatchObject({ code: 'queue_timeout' });
      expect(pool.stats().queued).toBe(0);
      busy.release();
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    });
  });

  it('takes an unsubscribed call out of the queue', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const busy = await occupy(pool, 1);
      const queued = pool.stream('count', { n: 1 }).subscribe();
      expect(pool.stats().queued).toBe(1);
      queued.unsubscribe();
      expect(pool.stats().queued).toBe(0);
      busy.release();
    });
  });

  it.each([
    ['the pool', { sessionAffinity: 'strict' as const }, {}],
    ['the call', {}, { sessionAffinity: 'strict' as const }],
  ])(
    "with strict affinity set on %s, a session's call waits for its worker even when another is idle",
    async (_, poolOptions, callOptions) => {
      await withPool({ size: 2, ...poolOptions }, async (pool) => {
        const { pid } = await pool.execute<{ pid: number }>('whoami', {}, { sessionId: 's' });
        const holding = pool.stream<{ pid: number }>('ticker', { marker: markerPath() }, { sessionId: 's' });
        const first = await new Promise<{ pid: number; stop: () => void }>((resolve) => {
          const subscription = holding.subscribe((chunk) => resolve({ pid: chunk.data.pid, stop: () => subscription.unsubscribe() }));
        });
        expect(first.pid).toBe(pid);
        const queued = nextEvent(pool, 'call_queued');
        const waiting = pool.execute<{ pid: number }>('whoami', {}, { sessionId: 's', ...callOptions });
        await queued;
        expect(pool.stats()).toMatchObject({ queued: 1, idle: 1 });
        // A call without the session is not held up by the waiting one.
        const other = await pool.execute<{ pid: number }>('whoami');
        expect(other.pid).not.toBe(pid);
        first.stop();
        await expect(waiting).resolves.toEqual({ pid });
      });
    },
  );
});

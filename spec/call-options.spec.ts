import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, rejectionOf, startTestPool, waitUntil, withPool } from './support/pools.js';

describe('call options', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 2 }));
  });
  afterAll(() => pool.close());

  describe('timeout', () => {
    it('fails a stream that runs too long with `timeout` and closes the generator', async () => {
      const marker = markerPath();
      const received: unknown[] = [];
      const error = await rejectionOf(pool.executeStream('ticker', { marker }, (chunk) => received.push(chunk), { timeout: 300 }));
      expect(error).toMatchObject({ name: 'SnakepitError', code: 'timeout' });
      expect(received.length).toBeGreaterThan(0);
      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
    });

    it('fails a unary call that runs too long with `timeout`, and its only worker serves again', async () => {
      await withPool({ size: 1, cancelGracePeriod: 200 }, async (single) => {
        const error = await rejectionOf(single.execute('sleep', { seconds: 30 }, { timeout: 100 }));
        expect(error).toMatchObject({ code: 'timeout' });
        await expect(single.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
      });
    });

    it('refuses a timeout that is not a positive number', async () => {
      await expect(pool.execute('add', { a: 1, b: 2 }, { timeout: -5 })).rejects.toMatchObject({ code: 'invalid_arguments' });
    });
  });

  describe('signal', () => {
    it('cancels a running stream with `cancelled` and closes the generator', async () => {
      const marker = markerPath();
      const controller = new AbortController();
      const error = await rejectionOf(
        pool.executeStream(
          'ticker',
          { marker },
          (chunk) => {
            if (chunk.index === 2) controller.abort(new Error('user pressed stop'));
          },
          { signal: controller.signal },
        ),
      );
      expect(error).toMatchObject({ code: 'cancelled' });
      expect((error as Error).cause).toEqual(new Error('user pressed stop'));
      await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to be closed');
    });

    it('does not start a call whose signal is already aborted', async () => {
      const marker = markerPath();
      const error = await rejectionOf(lastValueFrom(pool.stream('ticker', { marker }, { signal: AbortSignal.abort() })));
      expect(error).toMatchObject({ code: 'cancelled' });
      await pool.execute('echo', { value: 'round trip' });
      expect(markerEvents(marker)).toEqual([]);
    });

    it('cancels a unary call', async () => {
      const controller = new AbortController();
      const pending = pool.execute('sleep', { seconds: 2 }, { signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    });
  });

  describe('sessionId', () => {
    it('sends calls of one session to the same worker', async () => {
      await withPool({ size: 2 }, async (fresh) => {
        // Without a session, consecutive calls take turns on the workers (the idle one that waited longest).
        const unsessioned = new Set<number>();
        for (let call = 0; call < 4; call += 1) unsessioned.add((await fresh.execute<{ pid: number }>('whoami')).pid);
        expect(unsessioned.size).toBe(2);
        const pids = new Set<number>();
        for (let call = 0; call < 6; call += 1) {
          pids.add((await fresh.execute<{ pid: number }>('whoami', {}, { sessionId: 'session-a' })).pid);
        }
        expect(pids.size).toBe(1);
      });
    });

    it("uses another worker when the session's worker is busy", async () => {
      const { pid } = await pool.execute<{ pid: number }>('whoami', {}, { sessionId: 'session-b' });
      const marker = markerPath();
      const busy = pool.stream<{ pid: number }>('ticker', { marker }, { sessionId: 'session-b' });
      const holding = await new Promise<{ stop: () => void; pid: number }>((resolve) => {
        const subscription = busy.subscribe((chunk) => resolve({ stop: () => subscription.unsubscribe(), pid: chunk.data.pid }));
      });
      try {
        expect(holding.pid).toBe(pid);
        const other = await pool.execute<{ pid: number }>('whoami', {}, { sessionId: 'session-b' });
        expect(other.pid).not.toBe(pid);
      } finally {
        holding.stop();
      }
    });
  });
});

describe('queueing', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('runs more streams than workers one after another, each complete', async () => {
    const events: string[] = [];
    const run = (name: string) =>
      new Promise<void>((resolve, reject) => {
        let first = true;
        pool.stream('count', { n: 2000 }).subscribe({
          next: () => {
            if (first) events.push(`${name} first chunk`);
            first = false;
          },
          error: reject,
          complete: () => {
            events.push(`${name} complete`);
            resolve();
          },
        });
      });
    await Promise.all([run('a'), run('b'), run('c')]);
    expect(events).toEqual(['a first chunk', 'a complete', 'b first chunk', 'b complete', 'c first chunk', 'c complete']);
  });

  it('lets a queued subscriber leave the queue by unsubscribing', async () => {
    const marker = markerPath();
    const running = pool.stream('ticker', { marker }).subscribe();
    const queuedMarker = markerPath();
    const queued = pool.stream('ticker', { marker: queuedMarker }).subscribe();
    queued.unsubscribe();
    running.unsubscribe();
    await expect(pool.execute('add', { a: 2, b: 2 })).resolves.toBe(4);
    expect(markerEvents(queuedMarker)).toEqual([]);
  });

  it('releases the worker when a subscriber unsubscribes early', async () => {
    const marker = markerPath();
    await firstValueFrom(pool.stream('ticker', { marker }));
    const chunks = await lastValueFrom(pool.stream('count', { n: 3 }).pipe(take(10), toArray()));
    expect(chunks).toHaveLength(4);
  });
});

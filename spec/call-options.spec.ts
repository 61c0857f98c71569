import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, nextEvent, rejectionOf, startTestPool, waitUntil, withPool } from './support/pools.js';

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

  describe('the options object', () => {
    // Plain JavaScript may pass null or a string where the options go: each way of calling refuses it the same way.
    it.each([null, 'fast', 5])('refuses %s as options with invalid_arguments on every method', async (options) => {
      const given = options as never;
      const expected = { name: 'SnakepitError', code: 'invalid_arguments', message: expect.stringContaining('options must be an object') };
      await expect(pool.execute('add', { a: 1, b: 2 }, given)).rejects.toMatchObject(expected);
      await expect(pool.executeStream('count', { n: 1 }, () => {}, given)).rejects.toMatchObject(expected);
      await expect(lastValueFrom(pool.stream('count', { n: 1 }, given))).rejects.toMatchObject(expected);
      await expect(pool.iterate('count', { n: 1 }, given).next()).rejects.toMatchObject(expected);
      expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
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

    it('cancels a unary call: the tool sees the cancel', async () => {
      const marker = markerPath();
      const controller = new AbortController();
      const pending = pool.execute('wait_for_cancel', { marker }, { signal: controller.signal });
      await waitUntil(() => markerEvents(marker).includes('started'), 5_000, 'the tool to start');
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
      await waitUntil(() => markerEvents(marker).length === 2, 4_000, 'the tool to end');
      expect(markerEvents(marker)).toEqual(['started', 'cancelled']);
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

  it('lets a queued subscriber leave the queue by unsubscribing; the running one, cancelled in the same tick, costs no worker', async () => {
    const restarts = pool.stats().restarts;
    // Settles only if a worker is killed; the pool's closing completes events$, which must not reject it.
    const killed = nextEvent(pool, 'worker_killed', () => true, 60_000).then(
      () => 'killed',
      () => new Promise<never>(() => undefined),
    );
    const marker = markerPath();
    const running = pool.stream('ticker', { marker }).subscribe();
    const queuedMarker = markerPath();
    const queued = pool.stream('ticker', { marker: queuedMarker }).subscribe();
    expect(pool.stats().queued).toBe(1);
    queued.unsubscribe();
    expect(pool.stats().queued).toBe(0);
    running.unsubscribe();
    // The worker serves the next call only once the cancelled generator, if it started, was closed.
    const next = pool.execute('add', { a: 2, b: 2 });
    expect(await Promise.race([next, killed])).toBe(4);
    expect(pool.stats().restarts).toBe(restarts);
    expect([[], ['started', 'closed']]).toContainEqual(markerEvents(marker));
    expect(markerEvents(queuedMarker)).toEqual([]);
  });

  it('releases the worker when a subscriber unsubscribes early', async () => {
    const marker = markerPath();
    await firstValueFrom(pool.stream('ticker', { marker }));
    const chunks = await lastValueFrom(pool.stream('count', { n: 3 }).pipe(take(10), toArray()));
    expect(chunks).toHaveLength(4);
  });
});

/**
 * Cancels that come before or right after a call leaves: in the tick of the
 * subscription (as `switchMap` from a `BehaviorSubject` does), or just after
 * the request went out. Nothing may reach a worker for a call already
 * cancelled, and a call cancelled after it left closes its generator like
 * any other: no worker is killed.
 */
import { BehaviorSubject, lastValueFrom, switchMap, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent, SnakepitPool } from '../lib/index.js';
import { markerEvents, markerPath, rejectionOf, startTestPool, waitUntil } from './support/pools.js';

/**
 * A pool of `size` workers for the specs of a describe block, started before
 * them and closed after, and the workers it killed or lost meanwhile.
 */
function poolWatchingLosses(size: number): { readonly pool: SnakepitPool; readonly killed: PoolEvent[] } {
  const watched = { pool: undefined as unknown as SnakepitPool, killed: [] as PoolEvent[] };
  beforeAll(async () => {
    ({ pool: watched.pool } = await startTestPool({ size, cancelGracePeriod: 1_000 }));
    watched.pool.events$.subscribe((event) => {
      if (event.type === 'worker_killed' || event.type === 'worker_exited') watched.killed.push(event);
    });
  });
  afterAll(() => watched.pool.close());
  return watched;
}

describe('a cancel in the tick of the subscription', () => {
  const watched = poolWatchingLosses(2);
  const { killed } = watched;

  /** Resolves once every worker is back in the pool, which happens only after cancelled tools confirmed they stopped. */
  const settled = () => waitUntil(() => watched.pool.stats().idle === 2, 10_000, 'both workers to be idle');

  it('switchMap from a BehaviorSubject: only the last value reaches a worker; the others never start', async () => {
    const markers = [markerPath(), markerPath(), markerPath()];
    const source = new BehaviorSubject(markers[0]!);
    const chunks = lastValueFrom(
      source.pipe(
        switchMap((marker) => watched.pool.stream<{ seq: number }>('ticker', { marker })),
        take(3),
        toArray(),
      ),
    );
    source.next(markers[1]!);
    source.next(markers[2]!);
    expect(await chunks).toHaveLength(3);
    await settled();
    expect(markers.map(markerEvents)).toEqual([[], [], ['started', 'closed']]);
    expect(killed).toEqual([]);
    expect(watched.pool.stats().restarts).toBe(0);
  });

  it('an execute() aborted at once never reaches a worker', async () => {
    const marker = markerPath();
    const controller = new AbortController();
    const pending = watched.pool.execute('wait_for_cancel', { marker }, { signal: controller.signal });
    controller.abort();
    expect((await rejectionOf(pending)).code).toBe('cancelled');
    // A call made afterwards on every worker runs after anything the aborted one could have started.
    await Promise.all([watched.pool.execute('add', { a: 1, b: 1 }), watched.pool.execute('add', { a: 1, b: 1 })]);
    await settled();
    expect(markerEvents(marker)).toEqual([]);
    expect(killed).toEqual([]);
  });

  it('10,000 subscribe-then-unsubscribe in a row: no worker is killed or restarted, and the pool serves on', async () => {
    const pids = new Set(
      (await Promise.all([watched.pool.execute<{ pid: number }>('whoami'), watched.pool.execute<{ pid: number }>('whoami')])).map(
        (r) => r.pid,
      ),
    );
    const marker = markerPath();
    for (let round = 0; round < 10_000; round += 1) watched.pool.stream('ticker', { marker }).subscribe().unsubscribe();
    await settled();
    expect(markerEvents(marker)).toEqual([]);
    expect(killed).toEqual([]);
    expect(watched.pool.stats()).toMatchObject({ workers: 2, idle: 2, queued: 0, restarts: 0 });
    const after = await Promise.all([watched.pool.execute<{ pid: number }>('whoami'), watched.pool.execute<{ pid: number }>('whoami')]);
    expect(new Set(after.map((r) => r.pid))).toEqual(pids);
  }, 60_000);
});

describe('a cancel just after the request went out', () => {
  const watched = poolWatchingLosses(1);
  const { killed } = watched;

  const later: [string, () => Promise<void>][] = [
    ['a microtask', () => Promise.resolve()],
    ['setImmediate', () => new Promise((resolve) => setImmediate(resolve))],
    ['a 0 ms timer', () => new Promise((resolve) => setTimeout(resolve, 0))],
    ['1 ms', () => new Promise((resolve) => setTimeout(resolve, 1))],
    ['3 ms', () => new Promise((resolve) => setTimeout(resolve, 3))],
  ];

  it.each(later)(
    'unsubscribed after %s, 20 times: each generator either never started or was closed; no worker killed',
    async (_, wait) => {
      for (let round = 0; round < 20; round += 1) {
        const marker = markerPath();
        const subscription = watched.pool.stream('ticker', { marker }).subscribe();
        await wait();
        subscription.unsubscribe();
        // The worker comes back only once its tool confirmed it stopped.
        await waitUntil(() => watched.pool.stats().idle === 1, 10_000, 'the worker to be idle');
        expect([[], ['started', 'closed']]).toContainEqual(markerEvents(marker));
      }
      expect(killed).toEqual([]);
      expect(watched.pool.stats().restarts).toBe(0);
    },
  );

  it.each(later)('an execute() aborted after %s, 20 times: the tool never started or saw the cancel', async (_, wait) => {
    for (let round = 0; round < 20; round += 1) {
      const marker = markerPath();
      const controller = new AbortController();
      const pending = watched.pool.execute('wait_for_cancel', { marker }, { signal: controller.signal });
      await wait();
      controller.abort();
      expect((await rejectionOf(pending)).code).toBe('cancelled');
      await waitUntil(() => watched.pool.stats().idle === 1, 10_000, 'the worker to be idle');
      expect([[], ['started', 'cancelled']]).toContainEqual(markerEvents(marker));
    }
    expect(killed).toEqual([]);
  });
});

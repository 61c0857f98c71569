/**
 * WorkerPool on fake workers and fake timers: its queue, sessions,
 * recycling, restart backoff, degradation and health checks, in
 * milliseconds. The real fault paths (processes that die, hang or never
 * start) are in faults.spec.ts and overload.spec.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SnakepitError } from '../lib/errors.js';
import type { PoolEventInit } from '../lib/public-types.js';
import type { Lease, LeaseRequest } from '../lib/pool/lease-queue.js';
import type { WorkerPool } from '../lib/pool/worker-pool.js';
import { FakeWorker, StartScript, startFakePool, type FakePool } from './support/fake-workers.js';

/** What one `acquire` got: a lease, an error, or nothing yet. */
interface Acquired {
  lease: Lease | undefined;
  error: SnakepitError | undefined;
  readonly withdraw: () => void;
}

let callCount = 0;

/**
 * Fake timers run a 0 ms timeout set while timers fire (here: a replacement
 * scheduled from a health check) 1 ms later, so as not to loop forever.
 */
const NEXT_TICK = 1;

function acquire(pool: WorkerPool, request: Partial<LeaseRequest> = {}): Acquired {
  const acquired: Omit<Acquired, 'withdraw'> = { lease: undefined, error: undefined };
  const withdraw = pool.acquire(
    { callId: `call-${++callCount}`, tool: 'tool', sessionId: undefined, sessionAffinity: 'prefer', ...request },
    (lease) => (acquired.lease = lease),
    (error) => (acquired.error = error),
  );
  return Object.assign(acquired, { withdraw });
}

function eventsOf<K extends PoolEventInit['type']>(events: readonly PoolEventInit[], type: K): Extract<PoolEventInit, { type: K }>[] {
  return events.filter((event): event is Extract<PoolEventInit, { type: K }> => event.type === type);
}

let fake: FakePool | undefined;

async function start(
  options: Parameters<typeof startFakePool>[0] = {},
  starts?: StartScript,
): Promise<FakePool & { readonly worker: (index: number) => FakeWorker }> {
  fake = await startFakePool(options, starts);
  const { workers } = fake;
  return {
    ...fake,
    worker: (index) => {
      const worker = workers[index];
      if (worker === undefined) throw new Error(`no worker ${index}`);
      return worker;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await fake?.pool.close(0);
  fake = undefined;
  vi.useRealTimers();
});

describe('WorkerPool: the queue', () => {
  it('grants an idle worker at once, and queues callers in arrival order while all are busy', async () => {
    const { pool, events } = await start({ size: 2 });
    const first = acquire(pool);
    const second = acquire(pool);
    const third = acquire(pool);
    const fourth = acquire(pool);

    expect(first.lease?.worker).toBeDefined();
    expect(second.lease?.worker).not.toBe(first.lease?.worker);
    expect([third.lease, fourth.lease]).toEqual([undefined, undefined]);
    expect(pool.queued).toBe(2);
    expect(eventsOf(events, 'call_queued').map((event) => event.queueLength)).toEqual([1, 2]);

    second.lease?.release();
    expect(third.lease?.worker).toBe(second.lease?.worker);
    expect(fourth.lease).toBeUndefined();
    first.lease?.release();
    expect(fourth.lease?.worker).toBe(first.lease?.worker);
    expect(pool.queued).toBe(0);
  });

  it('refuses a caller with pool_saturated at once when maxQueue callers already wait', async () => {
    const { pool } = await start({ maxQueue: 1 });
    acquire(pool);
    const waiting = acquire(pool);
    const refused = acquire(pool);

    expect(waiting.error).toBeUndefined();
    expect(refused.error?.code).toBe('pool_saturated');
    expect(pool.queued).toBe(1);
  });

  it('fails a caller with queue_timeout once queueTimeout has passed, not before, and takes it out of the queue', async () => {
    const { pool } = await start({ queueTimeoutMs: 1000 });
    const running = acquire(pool);
    const waiting = acquire(pool);

    await vi.advanceTimersByTimeAsync(999);
    expect(waiting.error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.error?.code).toBe('queue_timeout');
    expect(pool.queued).toBe(0);

    running.lease?.release();
    expect(pool.idleCount).toBe(1);
  });

  it('lets a waiting caller withdraw: the freed worker goes to the next one', async () => {
    const { pool } = await start();
    const running = acquire(pool);
    const withdrawn = acquire(pool);
    const next = acquire(pool);

    withdrawn.withdraw();
    running.lease?.release();

    expect(withdrawn.lease).toBeUndefined();
    expect(next.lease?.worker).toBe(running.lease?.worker);
  });

  it('fails waiting callers with pool_closed when it closes, and refuses new ones', async () => {
    const { pool, worker } = await start();
    acquire(pool);
    const waiting = acquire(pool);

    await pool.close(100);

    expect(waiting.error?.code).toBe('pool_closed');
    expect(acquire(pool).error?.code).toBe('pool_closed');
    expect(worker(0).stops).toEqual([100]);
  });
});

describe('WorkerPool: sessions', () => {
  it("prefers the worker that served a session, and takes another when that one is busy ('prefer')", async () => {
    const { pool } = await start({ size: 2 });
    const first = acquire(pool, { sessionId: 's' });
    const sessionWorker = first.lease?.worker;
    first.lease?.release();
    const other = acquire(pool);
    other.lease?.release();

    const again = acquire(pool, { sessionId: 's' });
    expect(again.lease?.worker).toBe(sessionWorker);

    const whileBusy = acquire(pool, { sessionId: 's' });
    expect(whileBusy.lease?.worker).toBeDefined();
    expect(whileBusy.lease?.worker).not.toBe(sessionWorker);
  });

  it("makes a strict session's call wait for its worker while another is idle, then gives it that worker", async () => {
    const { pool } = await start({ size: 2 });
    const first = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    const sessionWorker = first.lease?.worker;

    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    expect(strict.lease).toBeUndefined();
    expect(pool.idleCount).toBe(1);

    first.lease?.release();
    expect(strict.lease?.worker).toBe(sessionWorker);
  });

  it('serves a waiting strict session before earlier callers when its worker frees up, and them with the others', async () => {
    const { pool } = await start({ size: 2 });
    const session = acquire(pool, { sessionId: 's' });
    const other = acquire(pool);
    const anyone = acquire(pool);
    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });

    session.lease?.release();
    expect(strict.lease?.worker).toBe(session.lease?.worker);
    expect(anyone.lease).toBeUndefined();
    other.lease?.release();
    expect(anyone.lease?.worker).toBe(other.lease?.worker);
  });

  it('remembers at most 10,000 sessions, forgetting the least recently used first', async () => {
    const { pool } = await start({ size: 2 });
    for (let session = 0; session < 10_050; session += 1) acquire(pool, { sessionId: `session-${session}` }).lease?.release();
    expect(pool.rememberedSessions).toBe(10_000);
    // session-50, the oldest kept, is used again: session-51 is now the first to go.
    const kept = acquire(pool, { sessionId: 'session-50' });
    kept.lease?.release();
    acquire(pool, { sessionId: 'one-more' }).lease?.release();
    expect(pool.rememberedSessions).toBe(10_000);
    expect(pool.remembersSession('session-50')).toBe(true);
    expect(pool.remembersSession('session-51')).toBe(false);
    expect(pool.remembersSession('session-49')).toBe(false);
  });

  it('lets a strict session whose worker is gone take the next worker that frees up', async () => {
    const { pool, worker } = await start({ size: 2 });
    const session = acquire(pool, { sessionId: 's' });
    const other = acquire(pool);
    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });

    const sessionWorker = session.lease?.worker;
    (sessionWorker === worker(0) ? worker(0) : worker(1)).crash();
    other.lease?.release();

    expect(strict.lease?.worker).toBe(other.lease?.worker);
  });

  it('lets a strict session whose worker is retired take an idle worker at once, however long the old one takes to exit', async () => {
    const { pool, worker } = await start({ size: 2, workerTtlMs: 1000, healthCheckIntervalMs: 0 });
    const session = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    expect(strict.lease).toBeUndefined();
    const retired = session.lease!.worker as FakeWorker;
    retired.exitsOnStop = false;
    await vi.advanceTimersByTimeAsync(1_500);

    // Past its TTL, the session's worker is retired as its call ends.
    session.lease?.release();

    expect(retired.stops).toHaveLength(1);
    expect(strict.lease?.worker).toBe(retired === worker(0) ? worker(1) : worker(0));
    retired.exitsOnStop = true;
    await retired.stop(0);
  });
});

describe('WorkerPool: recycling', () => {
  it('retires a worker after maxCallsPerWorker calls, once the last one ends, and starts its replacement', async () => {
    const { pool, events, worker, workers } = await start({ maxCallsPerWorker: 2, cancelGracePeriodMs: 300 });
    acquire(pool).lease?.release();
    const second = acquire(pool);
    expect(eventsOf(events, 'worker_recycled')).toEqual([]);

    second.lease?.release();
    expect(eventsOf(events, 'worker_recycled')).toEqual([{ type: 'worker_recycled', workerId: 'worker-1', reason: 'max_calls' }]);
    expect(worker(0).stops).toEqual([300]);

    await vi.advanceTimersByTimeAsync(0);
    expect(workers).toHaveLength(2);
    expect(eventsOf(events, 'worker_restarted')).toEqual([
      { type: 'worker_restarted', workerId: 'worker-2', replaced: 'worker-1', attempt: 1 },
    ]);
    expect(acquire(pool).lease?.worker).toBe(worker(1));
  });

  it('retires a worker past workerTtl when its call ends, never during the call', async () => {
    const { pool, events, worker } = await start({ workerTtlMs: 1000, healthCheckIntervalMs: 0 });
    const running = acquire(pool);

    await vi.advanceTimersByTimeAsync(5000);
    expect(eventsOf(events, 'worker_recycled')).toEqual([]);
    expect(worker(0).stops).toEqual([]);

    running.lease?.release();
    expect(eventsOf(events, 'worker_recycled')).toEqual([{ type: 'worker_recycled', workerId: 'worker-1', reason: 'ttl' }]);
  });

  it('retires an idle worker past workerTtl at the next health check', async () => {
    const { events, workers } = await start({ workerTtlMs: 1500, healthCheckIntervalMs: 1000 });

    await vi.advanceTimersByTimeAsync(1000);
    expect(eventsOf(events, 'worker_recycled')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(eventsOf(events, 'worker_recycled')).toEqual([{ type: 'worker_recycled', workerId: 'worker-1', reason: 'ttl' }]);
    await vi.advanceTimersByTimeAsync(NEXT_TICK);
    expect(workers).toHaveLength(2);
  });
});

describe('WorkerPool: replacing workers', () => {
  it('replaces a crashed worker at once, and backs off 100, 250, 500 ms between failed starts', async () => {
    const starts = new StartScript();
    const { pool, events, worker } = await start({}, starts);
    expect(starts.attempts).toBe(1);
    starts.fail(3);

    worker(0).crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts.attempts).toBe(2);
    for (const delay of [100, 250, 500]) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      const before = starts.attempts;
      await vi.advanceTimersByTimeAsync(1);
      expect(starts.attempts, `a start ${delay} ms after the previous failure`).toBe(before + 1);
    }

    expect(eventsOf(events, 'worker_restart_failed').map((event) => event.attempt)).toEqual([1, 2, 3]);
    expect(eventsOf(events, 'worker_restarted')).toEqual([
      { type: 'worker_restarted', workerId: 'worker-2', replaced: 'worker-1', attempt: 4 },
    ]);
    expect(pool.restarts).toBe(1);
    expect(pool.degraded).toBe(false);
  });

  it('starts counting the backoff afresh once a replacement has started', async () => {
    const starts = new StartScript();
    const { worker } = await start({}, starts);
    starts.fail(2);
    worker(0).crash();
    await vi.advanceTimersByTimeAsync(100 + 250);
    expect(starts.attempts).toBe(4);

    worker(1).crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts.attempts, 'the replacement of a worker that started is tried at once').toBe(5);
  });

  it('does not replace a worker that was stopped on purpose', async () => {
    const starts = new StartScript();
    const { worker } = await start({}, starts);
    await worker(0).stop(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts.attempts).toBe(1);
  });

  it('kills and replaces an idle worker that does not answer its health ping', async () => {
    const { events, worker, workers } = await start({ healthCheckIntervalMs: 1000 });
    worker(0).ping = () => Promise.reject(new Error('deadline exceeded'));

    await vi.advanceTimersByTimeAsync(1000);
    expect(eventsOf(events, 'worker_unhealthy')).toEqual([expect.objectContaining({ workerId: 'worker-1' })]);
    expect(worker(0).kills).toBe(1);
    await vi.advanceTimersByTimeAsync(NEXT_TICK);
    expect(workers).toHaveLength(2);
  });

  it('hands a cancelled call’s worker back once its tool stopped, and kills it when the tool ignores cancellation', async () => {
    const { pool, events, worker } = await start({ cancelGracePeriodMs: 200 });
    const graces: number[] = [];
    worker(0).awaitCall = (_callId, timeoutMs) => {
      graces.push(timeoutMs);
      return Promise.resolve(true);
    };
    const stopped = acquire(pool);
    stopped.lease?.releaseAfterCancel('call-a');
    await vi.advanceTimersByTimeAsync(0);
    expect(graces).toEqual([200]);
    expect(pool.idleCount).toBe(1);

    worker(0).awaitCall = () => Promise.resolve(false);
    acquire(pool).lease?.releaseAfterCancel('call-b');
    await vi.advanceTimersByTimeAsync(0);
    expect(eventsOf(events, 'worker_killed')).toEqual([{ type: 'worker_killed', workerId: 'worker-1', reason: 'ignored_cancellation' }]);
    expect(worker(0).kills).toBe(1);
  });
});

describe('WorkerPool: degraded', () => {
  it('gives a slot up after maxRestartAttempts failed starts: pool_degraded, and with no worker left, callers fail with worker_start_failed', async () => {
    const starts = new StartScript();
    const { pool, events, worker } = await start({ maxRestartAttempts: 2 }, starts);
    acquire(pool);
    const waiting = acquire(pool);
    starts.fail(Infinity);

    worker(0).crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.degraded).toBe(false);
    expect(waiting.error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(100);

    expect(eventsOf(events, 'pool_degraded')).toHaveLength(1);
    expect(pool.degraded).toBe(true);
    expect(waiting.error?.code).toBe('worker_start_failed');
    expect(waiting.error?.message).toContain('cannot start');
    expect(acquire(pool).error?.code).toBe('worker_start_failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts.attempts, 'no start after the slot is given up').toBe(3);
  });

  it('keeps serving with the workers it has left', async () => {
    const starts = new StartScript();
    const { pool, worker } = await start({ size: 2, maxRestartAttempts: 1 }, starts);
    starts.fail(Infinity);

    worker(0).crash();
    await vi.advanceTimersByTimeAsync(0);

    expect(pool.degraded).toBe(true);
    const served = acquire(pool);
    expect(served.lease?.worker).toBe(worker(1));
    expect(acquire(pool).error).toBeUndefined();
  });
});

describe('WorkerPool: start', () => {
  it('fails to start when a worker cannot start and all must, stopping those that did', async () => {
    const starts = new StartScript();
    starts.fail(1);
    const workers: FakeWorker[] = [];
    await expect(startFakePool({ size: 2, requireAllAtStart: true }, starts, workers)).rejects.toMatchObject({
      code: 'worker_start_failed',
    });
    expect(workers.map((worker) => worker.stops)).toEqual([[0]]);
  });

  it('starts with the workers that started when one is enough, and keeps trying the others', async () => {
    const starts = new StartScript();
    starts.fail(1);
    const { pool, workers } = await start({ size: 2, requireAllAtStart: false }, starts);
    expect(pool.liveWorkers).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(0);
    expect(workers).toHaveLength(2);
    expect(pool.liveWorkers).toHaveLength(2);
  });
});

describe('WorkerPool: capacity', () => {
  it('gives a worker of capacity 3 three calls at once, queues the fourth, and serves it when one ends', async () => {
    const { pool, worker } = await start({ capacity: () => 3 });
    const running = [acquire(pool), acquire(pool), acquire(pool)];
    const fourth = acquire(pool);

    expect(running.map((call) => call.lease?.worker)).toEqual([worker(0), worker(0), worker(0)]);
    expect(fourth.lease).toBeUndefined();
    expect([pool.busyCount, pool.idleCount, pool.slots, pool.queued, pool.size]).toEqual([3, 0, 3, 1, 3]);

    running[1]?.lease?.release();
    expect(fourth.lease?.worker).toBe(worker(0));
    running[0]?.lease?.release();
    expect([pool.busyCount, pool.idleCount]).toEqual([2, 1]);
  });

  it('gives each call to the least loaded worker, the one free longest among equals', async () => {
    const { pool, worker } = await start({ size: 2, capacity: (member) => (member === '1' ? 2 : 1) });
    const calls = [acquire(pool), acquire(pool), acquire(pool), acquire(pool)];

    expect(calls.map((call) => call.lease?.worker)).toEqual([worker(0), worker(1), worker(0), undefined]);
    expect([pool.slots, pool.size, pool.busyCount]).toEqual([3, 3, 3]);
    calls[1]?.lease?.release();
    expect(calls[3]?.lease?.worker).toBe(worker(1));
  });

  it('keeps a session on its worker while that one has room; a strict one waits for room there', async () => {
    const { pool, worker } = await start({ size: 2, capacity: () => 2 });
    const first = acquire(pool, { sessionId: 's' });
    const other = acquire(pool);
    const again = acquire(pool, { sessionId: 's' });

    expect(first.lease?.worker).toBe(worker(0));
    expect(other.lease?.worker).toBe(worker(1));
    expect(again.lease?.worker).toBe(worker(0));
    // Full: the session's next call goes elsewhere ('prefer'), and the session with it.
    expect(acquire(pool, { sessionId: 's' }).lease?.worker).toBe(worker(1));
    // Both full: a strict call waits for room on the session's worker, not on another.
    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    expect(strict.lease).toBeUndefined();
    first.lease?.release();
    expect(strict.lease).toBeUndefined();
    other.lease?.release();
    expect(strict.lease?.worker).toBe(worker(1));
  });

  it('stops giving calls to a worker that reached maxCallsPerWorker, and retires it once every call ended', async () => {
    const { pool, events, workers } = await start({ capacity: () => 3, maxCallsPerWorker: 2 });
    const calls = [acquire(pool), acquire(pool), acquire(pool)];
    expect(calls[2]?.lease).toBeUndefined();

    calls[0]?.lease?.release();
    expect(calls[2]?.lease, 'no third call on a worker past its limit, though it has room').toBeUndefined();
    expect(eventsOf(events, 'worker_recycled')).toEqual([]);
    calls[1]?.lease?.release();
    expect(eventsOf(events, 'worker_recycled')).toEqual([{ type: 'worker_recycled', workerId: 'worker-1', reason: 'max_calls' }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls[2]?.lease?.worker).toBe(workers[1]);
  });
});

describe('WorkerPool: members that come and go (endpoints)', () => {
  async function endpoints(names: string[], starts = new StartScript(), capacity = () => 1) {
    return start({ members: names, endpoints: true, requireAllAtStart: false, maxRestartAttempts: Infinity, capacity }, starts);
  }

  it('adds a member: its worker starts, serves the calls waiting, and it is reported with its capacity', async () => {
    const { pool, events, workers } = await endpoints(['a:1']);
    acquire(pool);
    const waiting = [acquire(pool), acquire(pool)];
    expect(eventsOf(events, 'endpoint_added')).toEqual([{ type: 'endpoint_added', endpoint: 'a:1', capacity: 1 }]);

    pool.addMember('b:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(workers.map((worker) => worker.member)).toEqual(['a:1', 'b:1']);
    expect(waiting[0]?.lease?.worker).toBe(workers[1]);
    expect(waiting[1]?.lease).toBeUndefined();
    expect(eventsOf(events, 'endpoint_added').at(-1)).toEqual({ type: 'endpoint_added', endpoint: 'b:1', capacity: 1 });
    expect([pool.size, pool.endpointCount, pool.memberNames]).toEqual([2, 2, ['a:1', 'b:1']]);
  });

  it('drains a member that leaves: no new call goes there, its running calls finish, then its worker stops for good', async () => {
    const { pool, events, worker, starts } = await endpoints(['a:1', 'b:1'], new StartScript(), () => 2);
    const onA = acquire(pool);
    const onB = acquire(pool);
    const leaving = onA.lease?.worker === worker(0) ? worker(0) : worker(1);
    const staying = leaving === worker(0) ? worker(1) : worker(0);

    pool.removeMember(leaving.member, 30_000);
    expect(eventsOf(events, 'endpoint_removed')).toEqual([{ type: 'endpoint_removed', endpoint: leaving.member, capacity: 2 }]);
    expect([pool.endpointCount, pool.slots, pool.size, pool.busyCount]).toEqual([1, 2, 2, 2]);
    const next = [acquire(pool), acquire(pool)];
    expect(next.map((call) => call.lease?.worker)).toEqual([staying, undefined]);
    expect(leaving.stops).toEqual([]);

    (onA.lease?.worker === leaving ? onA : onB).lease?.release();
    expect(leaving.stops).toHaveLength(1);
    expect(next[1]?.lease, 'a drained worker serves no waiting call').toBeUndefined();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts.attempts, 'never started again').toBe(2);
    expect(pool.memberNames).toEqual([staying.member]);
  });

  it("gives a strict session's waiting call another worker at once when its session's worker leaves", async () => {
    const { pool, worker } = await endpoints(['a:1', 'b:1']);
    const first = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    const [sessionWorker, other] = first.lease?.worker === worker(0) ? [worker(0), worker(1)] : [worker(1), worker(0)];
    const strict = acquire(pool, { sessionId: 's', sessionAffinity: 'strict' });
    expect(strict.lease, 'it waits for its session worker while the other is idle').toBeUndefined();

    pool.removeMember(sessionWorker.member, 30_000);
    expect(strict.lease?.worker).toBe(other);
  });

  it('keeps a retiring member retiring when it returns while it drains', async () => {
    const { pool, worker } = await start({
      members: ['a:1'],
      endpoints: true,
      requireAllAtStart: false,
      maxRestartAttempts: Infinity,
      capacity: () => 3,
      maxCallsPerWorker: 2,
    });
    const calls = [acquire(pool), acquire(pool)];
    expect(calls.map((call) => call.lease?.worker)).toEqual([worker(0), worker(0)]);

    pool.removeMember('a:1', 30_000);
    pool.addMember('a:1');
    expect(acquire(pool).lease, 'it served its maxCallsPerWorker calls').toBeUndefined();
  });

  it('kills a leaving member whose calls outlive drainTimeout, and does not replace it', async () => {
    const { pool, events, worker, starts } = await endpoints(['a:1']);
    acquire(pool);

    pool.removeMember('a:1', 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(worker(0).kills).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(worker(0).kills).toBe(1);
    expect(eventsOf(events, 'worker_exited')).toEqual([expect.objectContaining({ workerId: 'worker-1', expected: false })]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts.attempts).toBe(1);
    expect(pool.liveWorkers).toEqual([]);
  });

  it('stops an idle member that leaves at once, and takes back one that returns while it drains', async () => {
    const { pool, events, worker } = await endpoints(['a:1', 'b:1']);
    pool.removeMember('b:1', 30_000);
    expect(worker(1).stops).toHaveLength(1);

    const running = acquire(pool);
    pool.removeMember('a:1', 30_000);
    pool.addMember('a:1');
    expect(eventsOf(events, 'endpoint_added').map((event) => event.endpoint)).toEqual(['a:1', 'b:1', 'a:1']);
    running.lease?.release();
    expect(worker(0).stops).toEqual([]);
    expect(acquire(pool).lease?.worker).toBe(worker(0));
  });

  it('keeps trying a member that never answers, never gives it a call, and fails no caller', async () => {
    const starts = new StartScript();
    starts.silent.add('silent:1');
    const { pool, events, worker } = await endpoints(['a:1', 'silent:1'], starts);
    const calls = [acquire(pool), acquire(pool)];
    await vi.advanceTimersByTimeAsync(30_000);

    expect(calls[0]?.lease?.worker).toBe(worker(0));
    expect(calls[1]).toMatchObject({ lease: undefined, error: undefined });
    expect(starts.attempts).toBeGreaterThan(5);
    expect(eventsOf(events, 'endpoint_added').map((event) => event.endpoint)).toEqual(['a:1']);
    expect([pool.size, pool.endpointCount]).toEqual([1, 1]);
    pool.removeMember('silent:1', 0);
    const attempts = starts.attempts;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(starts.attempts, 'no more tries once it is removed').toBe(attempts);
    expect(eventsOf(events, 'endpoint_removed')).toEqual([]);
  });

  it('tells onWorkerLost when a worker goes away unasked', async () => {
    const lost: string[] = [];
    const { worker } = await start({ members: ['a:1'], endpoints: true, onWorkerLost: () => lost.push('lost') });
    worker(0).crash();
    expect(lost).toEqual(['lost']);
  });
});

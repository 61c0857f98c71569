/** FairQueue, the bridge server's queue in front of the pool, on a fake pool with `slots` workers. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { FairQueue } from '../lib/bridge-server/fair-queue.js';

/** A pool with `slots` workers and no queue: it has room while a worker is free. */
function fakePool(slots: number, options: { perClientConcurrency?: number; perClientQueue?: number } = {}) {
  const started: string[] = [];
  const running: (() => void)[] = [];
  const queue = new FairQueue({
    perClientConcurrency: () => options.perClientConcurrency ?? slots,
    perClientQueue: options.perClientQueue ?? 100,
    maxWaitingBytes: Number.POSITIVE_INFINITY,
    poolHasRoom: () => running.length < slots,
  });
  const call = (client: string, name: string) =>
    queue.admit(client, 0, (done) => {
      started.push(name);
      running.push(done);
    });
  /** Ends the oldest running call; the queue then sends the next one, as the bridge does on the pool's events. */
  const finishOldest = () => running.shift()?.();
  return { queue, started, call, finishOldest };
}

describe('FairQueue', () => {
  it('takes the clients in turn once the pool is full, however many calls one of them has waiting', () => {
    const { started, call, finishOldest } = fakePool(2);
    for (let index = 1; index <= 5; index += 1) call('a', `a${index}`);
    call('b', 'b1');
    call('c', 'c1');
    call('b', 'b2');
    expect(started).toEqual(['a1', 'a2']);
    for (let index = 0; index < 6; index += 1) finishOldest();
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'a4', 'b2', 'a5']);
  });

  it('keeps a client to perClientConcurrency calls in the pool, even when the pool has room', () => {
    const { started, call, finishOldest } = fakePool(4, { perClientConcurrency: 1 });
    call('a', 'a1');
    call('a', 'a2');
    call('b', 'b1');
    expect(started).toEqual(['a1', 'b1']);
    finishOldest();
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });

  it('refuses a call with pool_saturated once its client has perClientQueue calls waiting; other clients are not affected', () => {
    const { queue, call } = fakePool(1, { perClientQueue: 2 });
    call('a', 'a1');
    call('a', 'a2');
    call('a', 'a3');
    expect(() => call('a', 'a4')).toThrow(expect.objectContaining({ code: 'pool_saturated' }));
    expect(() => call('b', 'b1')).not.toThrow();
    expect(queue.waiting).toBe(3);
  });

  it('lets a waiting call withdraw: it never starts, and its place goes to the next', () => {
    const { queue, started, call, finishOldest } = fakePool(1);
    call('a', 'a1');
    const withdrawn = call('b', 'b1');
    call('c', 'c1');
    withdrawn.withdraw();
    expect(queue.waiting).toBe(1);
    finishOldest();
    expect(started).toEqual(['a1', 'c1']);
  });

  it('ends calls that end while they start (a pool that refuses at once) without losing its place', () => {
    const started: string[] = [];
    const queue = new FairQueue({ perClientConcurrency: () => 1, perClientQueue: 10, maxWaitingBytes: 1024, poolHasRoom: () => true });
    for (const name of ['a1', 'a2', 'a3']) {
      queue.admit('a', 0, (done) => {
        started.push(name);
        done();
      });
    }
    expect(started).toEqual(['a1', 'a2', 'a3']);
    expect(queue.waiting).toBe(0);
  });

  it("starts a call that waited in its caller's async context, not in that of the call whose end let it in", () => {
    // OpenTelemetry's Node context manager is an AsyncLocalStorage: a call's span must have its own caller's trace as parent.
    const store = new AsyncLocalStorage<string>();
    const queue = new FairQueue({ perClientConcurrency: () => 1, perClientQueue: 10, maxWaitingBytes: 1024, poolHasRoom: () => true });
    const startedIn: (string | undefined)[] = [];
    const ends: (() => void)[] = [];
    for (const caller of ['first', 'second']) {
      store.run(caller, () =>
        queue.admit('a', 0, (done) => {
          startedIn.push(store.getStore());
          ends.push(() => store.run(`end of ${caller}`, done));
        }),
      );
    }
    expect(startedIn).toEqual(['first']);
    ends[0]!();
    expect(startedIn).toEqual(['first', 'second']);
  });

  it('refuses a call whose request would make the waiting calls hold more than maxWaitingBytes, of every client together', () => {
    const queue = new FairQueue({ perClientConcurrency: () => 1, perClientQueue: 10, maxWaitingBytes: 1_000, poolHasRoom: () => false });
    const first = queue.admit('a', 600, () => {});

    expect(() => queue.admit('b', 600, () => {})).toThrow(expect.objectContaining({ code: 'pool_saturated' }));
    queue.admit('b', 400, () => {});
    first.withdraw();
    queue.admit('c', 600, () => {});
    expect(queue.waiting).toBe(2);
  });

  it('takes one request larger than maxWaitingBytes while nothing else waits, so that it can run at all', () => {
    const queue = new FairQueue({ perClientConcurrency: () => 1, perClientQueue: 10, maxWaitingBytes: 1_000, poolHasRoom: () => false });
    queue.admit('a', 5_000, () => {});

    expect(queue.waiting).toBe(1);
  });
});

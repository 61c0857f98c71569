import { afterEach, describe, expect, it } from 'vitest';
import { CallRegistry, type RegisteredCall } from '../lib/call/call-registry.js';
import { SnakepitError } from '../lib/errors.js';
import { PoolTelemetry } from '../lib/telemetry/pool-telemetry.js';
import { startFakePool, type FakePool } from './support/fake-workers.js';

/** A call, and the codes of the errors it was aborted with. */
function call(waiting: boolean): RegisteredCall & { readonly aborts: string[] } {
  const aborts: string[] = [];
  return { waiting, aborts, abort: (error) => aborts.push(error.code) };
}

/** Whether a promise has settled, once pending reactions have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('the call registry', () => {
  let fake: FakePool;
  let registry: CallRegistry;

  async function start(): Promise<void> {
    fake = await startFakePool();
    registry = new CallRegistry(fake.pool, 'prefer', () => {}, await PoolTelemetry.create());
  }
  afterEach(() => fake.pool.close(0));

  it('is idle at once when no call runs', async () => {
    await start();
    expect(await settled(registry.idle())).toBe(true);
  });

  it('becomes idle when the last running call ends, not before', async () => {
    await start();
    const first = call(false);
    const second = call(false);
    registry.begin(first);
    registry.begin(second);
    const idle = registry.idle();

    registry.end(first, false);
    expect(await settled(idle)).toBe(false);
    registry.end(second, false);
    expect(await settled(idle)).toBe(true);
  });

  it('is not made idle by a call that ends without having begun, and counts its error', async () => {
    await start();
    registry.begin(call(false));
    const idle = registry.idle();

    // A call refused before it asks for a worker (an invalid timeout) ends without beginning.
    registry.end(call(true), true);

    expect(await settled(idle)).toBe(false);
    expect(registry.errors).toBe(1);
  });

  it('aborts the calls still waiting for a worker, or all of them', async () => {
    await start();
    const waiting = call(true);
    const running = call(false);
    registry.begin(waiting);
    registry.begin(running);
    const closed = () => new SnakepitError('pool_closed', 'closed');

    registry.abort('waiting', closed);
    expect(waiting.aborts).toEqual(['pool_closed']);
    expect(running.aborts).toEqual([]);

    registry.abort('all', closed);
    expect(running.aborts).toEqual(['pool_closed']);
  });
});

import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallOptions, SnakepitPool } from '../lib/index.js';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';
import { markerEvents, markerPath, rejectionOf, startTestPool } from './support/pools.js';

/** Options plain JavaScript may pass, which the types would refuse. */
const unusable = (options: Record<string, unknown>) => options as CallOptions;

describe('options a pool cannot use', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it.each([
    [{ timeout: 2 ** 31 }, /^timeout must be a positive number of milliseconds, at most 2147483647 \(about 24\.8 days\), got 2147483648$/],
    [{ timeout: '100' }, /^timeout must be .*, got 100$/],
    [{ signal: {} }, /^signal must be an AbortSignal, got object$/],
    [{ sessionAffinity: 'bogus' }, /^sessionAffinity must be 'prefer' or 'strict', got bogus$/],
  ])('a call refuses %o with invalid_arguments, naming the tool, before anything runs', async (options, message) => {
    for (const run of [
      () => pool.execute('add', { a: 1, b: 2 }, unusable(options)),
      () => pool.executeStream('count', { n: 2 }, () => undefined, unusable(options)),
    ]) {
      const error = await rejectionOf(run());
      expect(error).toMatchObject({ code: 'invalid_arguments' });
      expect(error.message).toMatch(message);
      expect(error.tool).toBeDefined();
    }
    expect(pool.stats().busy).toBe(0);
    await expect(pool.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
  });

  it.each([undefined, null, 'log'])(
    'executeStream refuses a callback %o with invalid_arguments, before the tool runs',
    async (callback) => {
      const marker = markerPath();
      const error = await rejectionOf(pool.executeStream('ticker', { marker }, callback as unknown as () => void));

      expect(error).toMatchObject({
        code: 'invalid_arguments',
        tool: 'ticker',
        message: expect.stringMatching(/^executeStream needs a callback/),
      });
      expect(markerEvents(marker)).toEqual([]);
    },
  );

  it('refuses an empty sessionId, which the HTTP handler and the bridge server read as no session, rather than making it one', async () => {
    for (const run of [
      () => pool.execute('add', { a: 1, b: 2 }, { sessionId: '' }),
      () => lastValueFrom(pool.stream('count', { n: 2 }, { sessionId: '' })),
    ]) {
      expect(await rejectionOf(run())).toMatchObject({ code: 'invalid_arguments', message: 'the sessionId must not be empty' });
    }
  });

  it('refuses durations no timer can wait for (Node fires a longer one at once), in the pool options and close()', async () => {
    expect(() => resolvePoolOptions({ adapter: 'module.Adapter', queueTimeout: 2 ** 31 })).toThrow(
      /^createPool: `queueTimeout` must be at most 2147483647 ms \(about 24\.8 days\), got 2147483648$/,
    );
    expect(() => resolvePoolOptions({ adapter: 'module.Adapter', cancelGracePeriod: 2 ** 32 })).toThrow(
      /`cancelGracePeriod` must be at most/,
    );
    const { pool: closing } = await startTestPool({ size: 1 });
    const refused = await rejectionOf(closing.close({ drain: true, drainTimeout: 2 ** 31 }));
    expect(refused).toMatchObject({ code: 'invalid_arguments', message: expect.stringMatching(/^close: `drainTimeout` must be/) });
    await expect(closing.execute('add', { a: 1, b: 2 })).resolves.toBe(3);
    await closing.close();
  });
});

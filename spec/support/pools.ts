import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, throwError, timeout } from 'rxjs';
import { createPool, SnakepitError, type Chunk, type PoolEvent, type PoolOptions, type SnakepitPool } from '../../lib/index.js';
import { specTempDir } from './temp-files.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/** A pool of the spec adapter (spec/fixtures/test_adapter.py); worker logs are kept for inspection. */
export async function startTestPool(options: Partial<PoolOptions> = {}): Promise<{ pool: SnakepitPool; logs: string[] }> {
  const logs: string[] = [];
  const pool = await createPool({
    adapter: 'test_adapter.TestAdapter',
    size: 1,
    pythonPath: FIXTURES,
    onLog: (line, workerId) => logs.push(`${workerId}: ${line}`),
    ...options,
  });
  return { pool, logs };
}

/** A fresh path for a tool to record events in, one per line. */
export function markerPath(): string {
  return join(specTempDir('marker-'), 'marker');
}

export function markerEvents(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Resolves once `condition` holds, polling; rejects after `timeoutMs`. For
 * events that happen in another process and that nothing here can await.
 */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers; /proc tells whether it is really running.
    return !existsSync(`/proc/${pid}/stat`) || !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/**
 * Resolves with `read()` once it has stopped changing for `stableMs`: for a
 * producer in another process that should come to a halt.
 */
export async function valueOnceStable(read: () => number, stableMs: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < stableMs) {
    if (Date.now() > deadline) throw new Error(`value still changing after ${timeoutMs} ms (now ${value})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = read();
    if (now !== value) {
      value = now;
      since = Date.now();
    }
  }
  return value;
}

/** How many chunks the `produce` tool reports having yielded. */
export function producedCount(progress: string): number {
  return existsSync(progress) ? Number(readFileSync(progress, 'utf8') || 0) : 0;
}

/**
 * The first event of `type` (and matching `where`) from now on; subscribe
 * before doing what causes it.
 */
export function nextEvent<K extends PoolEvent['type']>(
  pool: SnakepitPool,
  type: K,
  where: (event: Extract<PoolEvent, { type: K }>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Extract<PoolEvent, { type: K }>> {
  return firstValueFrom(
    pool.events$.pipe(
      filter((event): event is Extract<PoolEvent, { type: K }> => event.type === type),
      filter(where),
      timeout({ first: timeoutMs, with: () => throwError(() => new Error(`no ${type} event within ${timeoutMs} ms`)) }),
    ),
  );
}

/** Prints a figure the README quotes (`npm test` shows it in the spec's output). */
export function reportFigure(name: string, value: number, unit: string): void {
  console.info(`[figure] ${name}: ${Math.round(value * 10) / 10} ${unit}`);
}

/** Runs `body` with a fresh test pool, and closes the pool whatever happens. */
export async function withPool<T>(options: Partial<PoolOptions>, body: (pool: SnakepitPool) => Promise<T>): Promise<T> {
  const { pool } = await startTestPool(options);
  try {
    return await body(pool);
  } finally {
    await pool.close();
  }
}

/** The SnakepitError `work` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejectionOf(work: Promise<unknown>): Promise<SnakepitError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof SnakepitError) return error;
    throw new Error(`expected a SnakepitError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the call to fail');
}

/**
 * Streams the `produce` tool (`total` chunks of 4 KiB) into an async callback that holds the first
 * chunk back until `release()`: meanwhile the generator should come to a halt (`produced` settles
 * below `total`), and afterwards every chunk arrive in order.
 */
export function heldBackStream(pool: SnakepitPool, total: number) {
  const progress = markerPath();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const received: Chunk<{ seq: number } | null>[] = [];
  const done = pool.executeStream<{ seq: number } | null>('produce', { n: total, size: 4096, progress }, async (chunk) => {
    received.push(chunk);
    if (chunk.index === 0) await released;
  });
  return { received, done, release, produced: (stableMs: number) => valueOnceStable(() => producedCount(progress), stableMs) };
}

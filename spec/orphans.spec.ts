import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive, markerEvents, markerPath, nextEvent, reportFigure, waitUntil, withPool } from './support/pools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Owned {
  readonly workers: number[];
  readonly children: number[];
}

/**
 * Runs `body` with a Node process that owns a pool (spec/fixtures/pool-owner.ts), and
 * the pids it reports. Its processes are not this process's children: whatever
 * happens, they are killed at the end so that a failure leaves nothing behind.
 */
async function withPoolOwner(
  options: { spawn?: boolean; holdGil?: string },
  body: (owner: ReturnType<typeof spawn>, owned: Owned) => Promise<void>,
): Promise<void> {
  const owner = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/pool-owner.ts', '2', JSON.stringify(options)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let owned: Owned = { workers: [], children: [] };
  try {
    const [line] = (await once(createInterface({ input: owner.stdout }), 'line')) as [string];
    owned = JSON.parse(line) as Owned;
    expect(new Set(owned.workers).size).toBe(2);
    expect([...owned.workers, ...owned.children].every(isAlive)).toBe(true);
    await body(owner, owned);
  } finally {
    owner.kill('SIGKILL');
    for (const pid of [...owned.workers, ...owned.children]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  }
}

async function killAndAwaitExit(owner: ReturnType<typeof spawn>, signal: NodeJS.Signals): Promise<number> {
  const killedAt = performance.now();
  owner.kill(signal);
  await once(owner, 'exit');
  return killedAt;
}

describe('when the Node process dies', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)('every worker exits by itself within 3 s (parent killed with %s)', async (signal) => {
    await withPoolOwner({}, async (owner, { workers }) => {
      const killedAt = await killAndAwaitExit(owner, signal);
      await waitUntil(() => !workers.some(isAlive), 3_000, 'the workers to exit');
      reportFigure(`parent ${signal} to both workers gone`, performance.now() - killedAt, 'ms');
    });
  });

  it('the processes their tools started go too, one in a session of its own as well', async () => {
    await withPoolOwner({ spawn: true }, async (owner, { workers, children }) => {
      const killedAt = await killAndAwaitExit(owner, 'SIGKILL');
      await waitUntil(() => ![...workers, ...children].some(isAlive), 3_000, 'the workers and their children to exit');
      reportFigure('parent SIGKILL to workers and their tools’ processes gone', performance.now() - killedAt, 'ms');
    });
  });

  it('a stopped worker (SIGSTOP) dies with its SIGKILLed parent', async () => {
    await withPoolOwner({}, async (owner, { workers }) => {
      for (const pid of workers) process.kill(pid, 'SIGSTOP');
      const killedAt = await killAndAwaitExit(owner, 'SIGKILL');
      await waitUntil(() => !workers.some(isAlive), 5_000, 'the stopped workers to exit');
      reportFigure('parent SIGKILL to stopped workers gone', performance.now() - killedAt, 'ms');
    });
  });

  it('a worker inside a C call holding the GIL dies with its SIGKILLed parent', async () => {
    const marker = markerPath();
    await withPoolOwner({ holdGil: marker }, async (owner, { workers }) => {
      await waitUntil(() => markerEvents(marker).includes('holding'), 10_000, 'a worker to enter the C call');
      const killedAt = await killAndAwaitExit(owner, 'SIGKILL');
      // The call lasts 120 s: the worker cannot notice anything before then.
      await waitUntil(() => !workers.some(isAlive), 5_000, 'the workers to exit');
      reportFigure('parent SIGKILL to a worker stuck in C gone', performance.now() - killedAt, 'ms');
    });
  });
});

/** Kills what a failed test left running: a tool's `sleep 300` is no worker, and no leak check would see it. */
function killIfAlive(pid: number): void {
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

describe('a process a tool starts in a session of its own', () => {
  it('is gone once the pool is closed', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const child = await pool.execute<number>('spawn_session_child');
      try {
        expect(isAlive(child)).toBe(true);
        await pool.close();
        await waitUntil(() => !isAlive(child), 3_000, 'the session child to be gone');
      } finally {
        killIfAlive(child);
      }
    });
  });

  it('is gone once its worker crashed', async () => {
    await withPool({ size: 1 }, async (pool) => {
      const child = await pool.execute<number>('spawn_session_child');
      try {
        const { pid } = await pool.execute<{ pid: number }>('whoami');
        const restarted = nextEvent(pool, 'worker_restarted');
        process.kill(pid, 'SIGKILL');
        await restarted;
        await waitUntil(() => !isAlive(child), 3_000, 'the session child to be gone');
      } finally {
        killIfAlive(child);
      }
    });
  });
});

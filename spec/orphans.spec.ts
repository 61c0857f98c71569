import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive, reportFigure, waitUntil } from './support/pools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('when the Node process dies', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)('every worker exits by itself within 3 s (parent killed with %s)', async (signal) => {
    const owner = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/pool-owner.ts', '2'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: owner.stdout }), 'line')) as [string];
      const pids = JSON.parse(line) as number[];
      expect(new Set(pids).size).toBe(2);
      expect(pids.every(isAlive)).toBe(true);

      const killedAt = performance.now();
      owner.kill(signal);
      await once(owner, 'exit');
      await waitUntil(() => !pids.some(isAlive), 3_000, 'the workers to exit');
      reportFigure(`parent ${signal} to both workers gone`, performance.now() - killedAt, 'ms');
    } finally {
      // Its workers are not this process's children: a failure above must not leave them to the leak check.
      owner.kill('SIGKILL');
    }
  });
});

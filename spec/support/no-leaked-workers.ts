import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { socketBase } from '../../lib/worker/socket-directory.js';

/** Socket directories of pools of this process (lib/worker/socket-directory.ts) that are still there. */
function ownSocketDirectories(): string[] {
  const prefix = `snakepit-rx-${process.pid}-`;
  return readdirSync(socketBase())
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => join(socketBase(), entry));
}

/** Worker processes this test process started and that are still running. */
function ownWorkers(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('snakepit_bridge')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

// Every spec file must close what it starts: a worker still running once the
// file's own hooks are done was leaked by one of its tests.
afterAll(async () => {
  if (process.platform !== 'linux') return;
  const deadline = Date.now() + 3_000;
  let leaked = ownWorkers();
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    leaked = ownWorkers();
  }
  for (const pid of leaked) process.kill(pid, 'SIGKILL');
  expect(leaked, 'worker processes left running by this spec file').toEqual([]);
});

// A pool closed, or one that failed to start, leaves no socket directory behind.
afterAll(() => {
  if (process.platform === 'win32') return;
  const left = ownSocketDirectories();
  for (const path of left) rmSync(path, { recursive: true, force: true });
  expect(left, 'socket directories left by this spec file').toEqual([]);
});

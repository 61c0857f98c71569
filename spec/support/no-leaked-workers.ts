import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';

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

import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { CHROMIUM_PATH, chromiumAvailable } from './browser-tools.js';

export const MISSING_CHROMIUM_NOTICE = [
  `Chromium was not found at ${CHROMIUM_PATH}: the browser specs did NOT run.`,
  'Install it with `apt-get install chromium` (Debian, Ubuntu), or point SNAKEPIT_CHROMIUM at a Chromium binary,',
  'then run `npm test` again. In CI (CI set) a missing browser fails the run.',
].join('\n');

/**
 * `describe` for specs that need a real browser. Without Chromium they are
 * skipped (the run ends with a notice), except in CI, where they fail.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (chromiumAvailable) describe(name, body);
  else if (process.env['CI']) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(MISSING_CHROMIUM_NOTICE);
      });
    });
  } else describe.skip(name, body);
}

/** Chromium processes whose parent is `parent` and that still run (zombies, which nothing here can reap, aside). */
export function chromiumChildren(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== parent || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('chromium')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Chromium processes anywhere whose environment carries `marker=value`, zombies aside. */
export function chromiumWithEnvironment(marker: string, value: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('chromium')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`${marker}=${value}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

import { chromiumAvailable } from './browser-tools.js';
import { chromiumWithEnvironment, MISSING_CHROMIUM_NOTICE } from './chromium.js';

const RUN_MARKER = 'SNAKEPIT_SPEC_RUN';

/**
 * Before the run: in CI, a missing Chromium fails it at once. After it: no
 * Chromium this run started may be left, and a developer without Chromium is
 * told that the browser specs did not run.
 */
export function setup(): () => void {
  if (!chromiumAvailable && process.env['CI']) throw new Error(MISSING_CHROMIUM_NOTICE);
  return () => {
    if (!chromiumAvailable) {
      const rule = '!'.repeat(72);
      process.stdout.write(`\n${rule}\n${MISSING_CHROMIUM_NOTICE}\n${rule}\n\n`);
      return;
    }
    const runId = process.env[RUN_MARKER];
    if (runId === undefined || process.platform !== 'linux') return;
    const leaked = chromiumWithEnvironment(RUN_MARKER, runId);
    for (const pid of leaked) process.kill(pid, 'SIGKILL');
    if (leaked.length > 0) throw new Error(`${leaked.length} Chromium process(es) outlived the test run: ${leaked.join(', ')}`);
  };
}

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPEC_TEMP_ROOT } from './temp-files.js';

/** Marks every worker this run starts, so that the teardown can tell them from other processes. */
const RUN_MARKER = 'SNAKEPIT_SPEC_RUN';

function workersOfThisRun(runId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (commandLine.includes('snakepit_bridge') && environment.includes(`${RUN_MARKER}=${runId}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export function setup(): () => void {
  const runId = randomUUID();
  process.env[RUN_MARKER] = runId;
  const tempRoot = mkdtempSync(join(tmpdir(), 'snakepit-spec-run-'));
  process.env[SPEC_TEMP_ROOT] = tempRoot;
  return () => {
    rmSync(tempRoot, { recursive: true, force: true });
    if (process.platform !== 'linux') return;
    const leaked = workersOfThisRun(runId);
    for (const pid of leaked) process.kill(pid, 'SIGKILL');
    if (leaked.length > 0) {
      // Vitest prints an error thrown here ("error during close") but exits with 0 all the same;
      // the exit code makes the run fail. spec/leak-check.spec.ts checks that it still does.
      process.exitCode = 1;
      throw new Error(`${leaked.length} worker process(es) outlived the test run: ${leaked.join(', ')}`);
    }
  };
}

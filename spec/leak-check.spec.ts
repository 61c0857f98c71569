/** The run-wide leak check of spec/support/global-setup.ts makes a run fail, not only print. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the run-wide leak check', () => {
  it('fails a run whose tests pass but leave a worker process behind, and kills the process', async () => {
    const outcome = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['node_modules/vitest/vitest.mjs', 'run', '--config', 'spec/fixtures/leak-probe/vitest.config.ts'],
        { cwd: ROOT, timeout: 60_000 },
        (_, stdout, stderr) => resolve({ code: child.exitCode, output: `${stdout}${stderr}` }),
      );
    });
    expect(outcome.output).toMatch(/1 passed/);
    expect(outcome.output).toMatch(/1 worker process\(es\) outlived the test run/);
    expect(outcome.code).toBe(1);
  }, 90_000);
});

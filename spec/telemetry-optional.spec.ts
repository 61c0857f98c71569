import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('without @opentelemetry/api installed', () => {
  it('the library loads and every kind of call works as before', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', './spec/fixtures/without-opentelemetry.mjs', '--import', 'tsx', 'spec/fixtures/pool-without-opentelemetry.ts'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );

    expect(JSON.parse(stdout)).toEqual({
      importable: false,
      chunks: 4,
      sum: 5,
      failure: 'python_error',
      taken: 2,
      handler: 'function',
      events: ['call_finished', 'call_started', 'worker_exited'],
    });
  }, 90_000);
});

import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the package', () => {
  it('builds to dist/ and imports from plain Node ESM by its name', () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
    const script = `
      import { createPool, SnakepitError } from 'snakepit-rx';
      import * as operators from 'snakepit-rx/operators';
      import { createHttpClient, reduceProgress } from 'snakepit-rx/browser';
      console.log(JSON.stringify([typeof createPool, typeof SnakepitError, Object.keys(operators).length > 0, typeof createHttpClient, typeof reduceProgress]));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual(['function', 'function', true, 'function', 'function']);
  }, 60_000);

  it('installs the snakepit-rx command, which runs from the build (npx snakepit-rx types)', () => {
    // After the build of the test above; --no: never look for the command anywhere but in this package.
    const output = execFileSync(
      'npm',
      ['exec', '--no', '--', 'snakepit-rx', 'types', 'typed_adapter.TypedAdapter', '--python-path', 'spec/fixtures'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(output).toContain('export interface TypedAdapterTools {');
  }, 60_000);

  it('has committed generated code that matches proto/', () => {
    const check = spawnSync(process.execPath, ['proto/generate.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 60_000);
});

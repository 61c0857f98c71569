// Runs the repository's Python (.venv, or $SNAKEPIT_PYTHON when set) with the
// given arguments, from the repository root: `node worker-python/run-python.mjs -m pytest ...`.
// Exits with the command's exit code.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venvPython = join(root, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const python = process.env.SNAKEPIT_PYTHON || venvPython;

if (!process.env.SNAKEPIT_PYTHON && !existsSync(venvPython)) {
  console.error(
    `snakepit-rx: no Python environment at ${join(root, '.venv')}.\n` +
      'Run `npm install` in the repository to create it (or set SNAKEPIT_PYTHON to an interpreter with the dev dependencies).',
  );
  process.exit(1);
}

const result = spawnSync(python, process.argv.slice(2), { cwd: root, stdio: 'inherit' });
if (result.error) {
  console.error(`snakepit-rx: cannot run ${python}: ${result.error.message}`);
  process.exit(1);
}
// A process killed by a signal has no exit code; fail as a shell would report it.
process.exit(result.status ?? 128 + (constants.signals[result.signal] ?? 1));

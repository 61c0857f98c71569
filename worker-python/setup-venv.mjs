// Creates the repository's Python environment in .venv and installs the
// worker package (editable) with its development dependencies. Runs from
// `npm install` (the root package's `prepare` script); does nothing when the
// installed requirements (pyproject.toml, and how and where the package is installed) are already current.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, '.venv');
const python = join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const stamp = join(venv, '.snakepit-requirements');
const pyproject = join(root, 'worker-python', 'pyproject.toml');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

if (process.env.SNAKEPIT_SKIP_PYTHON_SETUP) {
  console.log('snakepit-rx: SNAKEPIT_SKIP_PYTHON_SETUP is set; not creating .venv');
  process.exit(0);
}

// A .pth line with the package's directory, rather than setuptools' default import hook for editable
// installs: the hook imports pathlib and more at every interpreter's start, about 10 ms of each worker's,
// which users' installs (`pip install snakepit-bridge`) do not pay, and npm run bench should not either.
const installArgs = ['--config-settings', 'editable_mode=compat', '-e', `${join(root, 'worker-python')}[dev]`];
const wanted = createHash('sha256').update(readFileSync(pyproject)).update(JSON.stringify(installArgs)).digest('hex');
if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) process.exit(0);

if (!existsSync(python)) {
  const bootstrap = process.env.SNAKEPIT_BOOTSTRAP_PYTHON ?? 'python3';
  console.log(`snakepit-rx: creating .venv with ${bootstrap}`);
  run(bootstrap, ['-m', 'venv', venv]);
}
console.log('snakepit-rx: installing worker-python into .venv');
run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', ...installArgs]);
writeFileSync(stamp, wanted);

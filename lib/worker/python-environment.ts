import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'snakepit-rx') {
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error('snakepit-rx: cannot find its own package.json');
    directory = parent;
  }
}

/** The snakepit-rx package directory (the repository root in development). */
export const packageRoot = findPackageRoot();

function venvPython(root: string): string {
  return process.platform === 'win32' ? join(root, '.venv', 'Scripts', 'python.exe') : join(root, '.venv', 'bin', 'python');
}

/**
 * The interpreter workers run on: the `python` option, else `$SNAKEPIT_PYTHON`,
 * else the `.venv` of the current project, else that of this package (where
 * `npm install` creates it), else `python3` on the PATH.
 */
export function resolvePython(explicit: string | undefined): string {
  if (explicit) return explicit;
  const fromEnvironment = process.env['SNAKEPIT_PYTHON'];
  if (fromEnvironment) return fromEnvironment;
  for (const root of [process.cwd(), packageRoot]) {
    const candidate = venvPython(root);
    if (existsSync(candidate)) return candidate;
  }
  return 'python3';
}

/**
 * PYTHONPATH for workers: the user's directories first, then this package's
 * copy of `snakepit_bridge`, so that an interpreter with grpcio and protobuf
 * but without the package installed still finds it.
 */
export function workerPythonPath(pythonPath: readonly string[]): string {
  const inherited = process.env['PYTHONPATH'];
  return [...pythonPath.map((entry) => resolve(entry)), join(packageRoot, 'worker-python'), ...(inherited ? [inherited] : [])].join(
    delimiter,
  );
}

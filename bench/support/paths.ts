import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const benchDir = fileURLToPath(new URL('../', import.meta.url));
export const repoRoot = join(benchDir, '..');
export const baselineDir = join(benchDir, 'baseline');
export const adaptersDir = join(benchDir, 'adapters');
export const workerPythonDir = join(repoRoot, 'worker-python');
export const resultsPath = join(benchDir, 'results.json');

/** The interpreter every Python side of the benchmark runs on, so that no path gets a different Python. */
export const python = ((): string => {
  const fromEnvironment = process.env['SNAKEPIT_PYTHON'];
  if (fromEnvironment) return fromEnvironment;
  const venv = join(repoRoot, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
})();

import { join } from 'node:path';
import { packageRoot, resolvePython } from '../../lib/worker/python-environment.js';

export const repoRoot = packageRoot;
export const benchDir = join(repoRoot, 'bench');
export const baselineDir = join(benchDir, 'baseline');
export const adaptersDir = join(benchDir, 'adapters');
export const workerPythonDir = join(repoRoot, 'worker-python');

/** The interpreter every Python side of the benchmark runs on, the one workers get by default, so that no path gets a different Python. */
export const python = resolvePython(undefined);

import { createPool, type PoolOptions, type SnakepitPool } from 'snakepit-rx';
import { adaptersDir as exampleAdaptersDir } from '../../examples/shared.js';
import { onCleanup } from './cleanup.js';
import { adaptersDir, baselineDir, python } from './paths.js';

export const BENCH_ADAPTER = 'bench_adapter.BenchAdapter';

/** Worker stderr, kept for the report when something fails instead of interleaving with the table. */
export const workerLog: string[] = [];

export interface BenchPool {
  readonly pool: SnakepitPool;
  close(): Promise<void>;
}

/** A pool on the bench adapter (or another of bench/adapters); closed by the caller, or at the end of the run whatever happens. */
export async function startBenchPool(
  size: number,
  options: Pick<PoolOptions, 'hostTools'> & { readonly adapter?: string } = {},
): Promise<BenchPool> {
  const { adapter = BENCH_ADAPTER, ...poolOptions } = options;
  const pool = await createPool({
    ...poolOptions,
    adapter,
    size,
    python,
    // bench/baseline holds workload_data.py, the payloads the adapter shares with the baselines;
    // examples/adapters holds guide_adapter.py, whose tools the adapter inherits.
    pythonPath: [adaptersDir, baselineDir, exampleAdaptersDir],
    onLog: (line, workerId) => {
      workerLog.push(`[${workerId}] ${line}`);
      if (workerLog.length > 200) workerLog.shift();
    },
  });
  const close = onCleanup(() => pool.close());
  return { pool, close };
}

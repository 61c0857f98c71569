import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { delimiter } from 'node:path';
import { createInterface } from 'node:readline';
import { adaptersDir as exampleAdaptersDir } from '../../examples/shared.js';
import { BENCH_ADAPTER, workerLog } from './bench-pool.js';
import { onCleanup } from './cleanup.js';
import { adaptersDir, baselineDir, python } from './paths.js';

export interface ServeEndpoint {
  /** `127.0.0.1:port`. */
  readonly address: string;
  stop(): Promise<void>;
}

const READY_PREFIX = 'SNAKEPIT_READY ';

/**
 * `python -m snakepit_bridge serve` on the bench adapter, on loopback, as an
 * operator starts one for remote pools (`extraArgs`: `--workers N`...).
 * Stopped by the caller, or at the end of the run whatever happens.
 */
export async function startServeEndpoint(token: string, extraArgs: readonly string[] = []): Promise<ServeEndpoint> {
  const child = spawn(python, ['-m', 'snakepit_bridge', 'serve', '--adapter', BENCH_ADAPTER, '--port', '0', ...extraArgs], {
    env: {
      ...process.env,
      PYTHONPATH: [adaptersDir, baselineDir, exampleAdaptersDir].join(delimiter),
      SNAKEPIT_TOKEN: token,
      SNAKEPIT_LOG_LEVEL: 'WARNING',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  const stop = onCleanup(async () => {
    // SIGTERM: a dispatcher stops its worker processes before it exits.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    workerLog.push(`[serve] ${line}`);
    if (workerLog.length > 200) workerLog.shift();
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(() => {
      throw new Error('serve exited before it was ready');
    }),
  ])) as [string];
  if (!line.startsWith(READY_PREFIX)) {
    await stop();
    throw new Error(`serve: unexpected first line ${line}`);
  }
  const { port } = JSON.parse(line.slice(READY_PREFIX.length)) as { port: number };
  return { address: `127.0.0.1:${port}`, stop };
}

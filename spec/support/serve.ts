import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { packageRoot, resolvePython, workerPythonPath } from '../../lib/worker/python-environment.js';
import { FIXTURES } from './pools.js';

export interface StandaloneWorker {
  readonly endpoint: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `python -m snakepit_bridge serve` as a separate process, as an operator would on another host. */
export async function serveWorker(
  options: { port?: number; token?: string; adapter?: string; extraArgs?: string[] } = {},
): Promise<StandaloneWorker> {
  const child = spawn(
    resolvePython(undefined),
    [
      '-m',
      'snakepit_bridge',
      'serve',
      '--adapter',
      options.adapter ?? 'test_adapter.TestAdapter',
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      ...(options.extraArgs ?? []),
    ],
    {
      cwd: packageRoot,
      env: { ...process.env, PYTHONPATH: workerPythonPath([FIXTURES]), SNAKEPIT_TOKEN: options.token ?? '', SNAKEPIT_LOG_LEVEL: 'WARNING' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('the worker exited before it was ready');
    }),
  ])) as [string];
  if (!line.startsWith('SNAKEPIT_READY ')) throw new Error(`unexpected first line: ${line}`);
  const { port } = JSON.parse(line.slice('SNAKEPIT_READY '.length)) as { port: number };
  const exited = once(child, 'exit');
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { packageRoot, resolvePython, workerPythonPath } from '../../lib/worker/python-environment.js';
import { FIXTURES, isAlive, waitUntil } from './pools.js';

export interface StandaloneWorker {
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** The processes below it now: with `--workers N`, its worker processes and their supervisors. */
  descendants(): number[];
  /** Kills it at once (SIGKILL), as a lost machine would go, and waits until every process below it has gone too. */
  stop(): Promise<void>;
}

/** The processes below `pid`, children first (Linux). */
export function descendantsOf(pid: number): number[] {
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

/** Starts `python -m snakepit_bridge serve` as a separate process, as an operator would on another host. */
export async function serveWorker(
  options: { port?: number; host?: string; token?: string; adapter?: string; extraArgs?: string[]; env?: Record<string, string> } = {},
): Promise<StandaloneWorker> {
  const host = options.host ?? '127.0.0.1';
  const child = spawn(
    resolvePython(undefined),
    [
      '-m',
      'snakepit_bridge',
      'serve',
      '--adapter',
      options.adapter ?? 'test_adapter.TestAdapter',
      '--host',
      host,
      '--port',
      String(options.port ?? 0),
      ...(options.extraArgs ?? []),
    ],
    {
      cwd: packageRoot,
      env: {
        ...process.env,
        PYTHONPATH: workerPythonPath([FIXTURES]),
        SNAKEPIT_TOKEN: options.token ?? '',
        SNAKEPIT_LOG_LEVEL: 'WARNING',
        ...options.env,
      },
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
  const descendants = () => (child.pid === undefined ? [] : descendantsOf(child.pid));
  return {
    endpoint: `${host}:${port}`,
    host,
    port,
    process: child,
    descendants,
    stop: async () => {
      const below = descendants();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      // A dispatcher's worker processes go with it: the kernel's parent-death signal, and their stdin closing.
      await waitUntil(() => !below.some(isAlive), 10_000, `the processes of ${host}:${port} to exit`);
    },
  };
}

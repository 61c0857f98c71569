import { spawn, type ChildProcess } from 'node:child_process';
import { delimiter } from 'node:path';
import { createInterface } from 'node:readline';
import { onCleanup } from './cleanup.js';
import { baselineEnvironment } from './environment.js';
import { baselineDir, python, workerPythonDir } from './paths.js';
import { nowMs } from './timing.js';

export interface BaselineServer {
  /** host:port on loopback. */
  readonly address: string;
  /** The `unix:` address grpc-js dials, when the server was asked to listen on a Unix socket too. */
  readonly unixAddress: string | undefined;
  readonly pid: number;
  /** ms from spawn to the `PORT` line. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  // Closing stdin is the server's own stop signal; the kills are for a server that is stuck.
  child.stdin?.end();
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
}

export interface BaselineServerOptions {
  /** The sync server (grpc_server.py, the default) or the asyncio one (grpc_aio_server.py). */
  readonly script?: 'grpc_server.py' | 'grpc_aio_server.py';
  /** A Unix socket path the sync server listens on too. */
  readonly unixSocket?: string;
}

/** Spawns a plain grpcio server of bench/baseline/ and resolves once it prints the port it listens on. */
export function startBaselineServer({ script = 'grpc_server.py', unixSocket }: BaselineServerOptions = {}): Promise<BaselineServer> {
  const started = nowMs();
  const child = spawn(python, [`${baselineDir}/${script}`, ...(unixSocket === undefined ? [] : ['--unix', unixSocket])], {
    env: baselineEnvironment({ PYTHONPATH: [workerPythonDir, baselineDir].join(delimiter) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stop = onCleanup(() => stopChild(child));
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 20) stderr.shift();
  });
  return new Promise<BaselineServer>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      void stop();
      reject(new Error(`baseline server: ${reason}\n${stderr.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`no port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once('error', (error) => fail(String(error)));
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before printing its port`));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (!match) return;
      const readyMs = nowMs() - started;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.close();
      child.stdout.resume();
      resolve({
        address: `127.0.0.1:${match[1]}`,
        unixAddress: unixSocket === undefined ? undefined : `unix://${unixSocket}`,
        pid: child.pid!,
        readyMs,
        stop,
      });
    });
  });
}

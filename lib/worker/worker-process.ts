import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { BridgeConnection } from '../contract/bridge-connection.js';
import { SnakepitError } from '../errors.js';
import { readBoundedLines } from './bounded-lines.js';
import { workerPythonPath } from './python-environment.js';
import { formatWorkerLog, parseWorkerLog } from './worker-log.js';
import type { WorkerLog } from '../public-types.js';
import { ExitSignal, type Worker, type WorkerExit } from './worker.js';

const READY_PREFIX = 'SNAKEPIT_READY ';
/** Written on a worker's stdin when the pool stops it (worker-python/snakepit_bridge/parent_pipe.py). */
const STOP_LINE = 'stop\n';
const FAILED_PREFIX = 'SNAKEPIT_FAILED ';
const OUTPUT_TAIL_LINES = 20;

export interface WorkerProcessOptions {
  readonly id: string;
  readonly python: string;
  /** `module.Class` or `module:Class`. */
  readonly adapter: string;
  readonly pythonPath: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  /**
   * The secret every call must carry. The worker reads it from the first line
   * of its stdin, which only this process holds: in its environment it would
   * stay readable in /proc/<pid>/environ by any process of the same user.
   */
  readonly token: string;
  readonly maxMessageBytes: number;
  /**
   * The Unix socket the worker listens on, in its pool's private directory
   * (socket-directory.ts); undefined: a port on 127.0.0.1.
   */
  readonly socketPath: string | undefined;
  readonly startTimeoutMs: number;
  /** Aborted when the pool closes: a worker still starting is ended rather than waited for. */
  readonly signal?: AbortSignal;
  /** The worker's Python logging level; undefined: its default (`$SNAKEPIT_LOG_LEVEL`, else WARNING). */
  readonly logLevel?: string | undefined;
  /**
   * Receives each log record the worker writes, formatted and with the
   * record itself, and each line written to its stderr (whatever a tool
   * printed), as it is.
   */
  readonly onLog: (line: string, workerId: string, record?: WorkerLog) => void;
}

interface Handshake {
  /** Where it listens: a port on 127.0.0.1, or the Unix socket it was given. */
  readonly port?: number;
  readonly socket?: string;
  /** The process serving calls: on Linux a child of the one spawned, its supervisor (worker-python's supervisor.py). */
  readonly pid: number;
}

/** The worker's file descriptor for its log records (`--record-fd`): the first after stdin, stdout and stderr. */
const RECORD_FD = 3;

/** How long a supervisor gets to end what its killed worker left before its whole group is killed. */
const SUPERVISOR_CLEANUP_MS = 1_000;
/**
 * How long a supervisor asked to stop may take: it gives its worker STOP_GRACE_SECONDS (supervisor.py) to
 * stop, then kills it, then ends what it left.
 */
const SUPERVISOR_STOP_MS = 2_000 + SUPERVISOR_CLEANUP_MS;

/** One Python worker: a child process serving the adapter on a Unix socket or a loopback port, and our connection to it. */
export class WorkerProcess implements Worker {
  readonly lossCode = 'worker_crashed';
  readonly capacity = 1;
  readonly exit: Promise<WorkerExit>;
  private readonly exitSignal = new ExitSignal();
  private stopping = false;

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly servingPid: number,
    readonly connection: BridgeConnection,
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {
    this.exit = exit.then(({ code, signal }) => {
      const info: WorkerExit = { code, signal, expected: this.stopping };
      connection.close();
      this.exitSignal.fire(info);
      return info;
    });
  }

  onExit(listener: (exit: WorkerExit) => void): () => void {
    return this.exitSignal.listen(listener);
  }

  /** The process serving calls (what a tool's `os.getpid()` says). */
  get pid(): number | undefined {
    return this.servingPid;
  }

  get exited(): boolean {
    return this.exitSignal.fired;
  }

  /** Spawns a worker and resolves once it serves and our channel to it is connected. */
  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const child = spawn(
      options.python,
      [
        '-m',
        'snakepit_bridge',
        'worker',
        '--adapter',
        options.adapter,
        '--worker-id',
        options.id,
        '--max-message-bytes',
        String(options.maxMessageBytes),
        '--parent-pid',
        String(process.pid),
        '--record-fd',
        String(RECORD_FD),
        ...(options.logLevel === undefined ? [] : ['--log-level', options.logLevel]),
        ...(options.socketPath === undefined ? [] : ['--socket', options.socketPath]),
      ],
      {
        cwd: options.cwd,
        env: workerEnvironment(options),
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        // Its own process group, so that stopping it takes along whatever its tools started.
        detached: true,
      },
    );
    // A worker that dies at once breaks the pipe; its exit, not this write, reports why.
    child.stdin?.on('error', () => undefined);
    child.stdin?.write(`${options.token}\n`);
    // The last lines of stderr and of the record pipe, for the message of a worker that fails to start.
    const outputTail: string[] = [];
    const remember = (text: string) => {
      outputTail.push(text);
      if (outputTail.length > OUTPUT_TAIL_LINES) outputTail.shift();
    };
    readBoundedLines(child.stderr, (line) => {
      options.onLog(line, options.id);
      remember(line);
    });
    readBoundedLines(recordPipe(child), (line) => remember(readRecordLine(line, options)));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        killGroup(child.pid);
        // A worker killed before it could remove its socket leaves the file behind.
        if (options.socketPath !== undefined) rmSync(options.socketPath, { force: true });
        resolve({ code, signal });
      });
    });

    let handshake: Handshake;
    let address: string;
    try {
      handshake = await readHandshake(child, exit, options, outputTail);
      address = workerAddress(handshake, options);
    } catch (error) {
      await abandonStart(child, exit);
      throw error;
    }
    const connection = new BridgeConnection(address, {
      token: options.token,
      maxMessageBytes: options.maxMessageBytes,
    });
    const worker = new WorkerProcess(options.id, child, handshake.pid, connection, exit);
    try {
      await connection.connect(new Date(Date.now() + options.startTimeoutMs));
    } catch (error) {
      await worker.stop(0);
      throw new SnakepitError('worker_start_failed', `worker ${options.id} is up but cannot be reached: ${String(error)}`, {
        workerId: options.id,
        cause: error,
      });
    }
    return worker;
  }

  /** Asks the worker to stop (it closes running tools), then kills it after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (!this.exitSignal.fired) {
      this.stopping = true;
      // A goodbye first: a worker whose stdin ends without it knows that the pool's process died.
      this.child.stdin?.end(STOP_LINE);
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.kill();
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exit, killed]);
      clearTimeout(timer);
    }
    await this.exit;
  }

  /**
   * Kills the worker at once, as a crash would. Under a supervisor, the
   * serving process is killed and the supervisor ends every process left
   * below it (those its tools started in sessions of their own too) before it
   * exits; killing the supervisor's group at once would leave those behind.
   */
  kill(): void {
    const supervisor = this.child.pid;
    if (this.servingPid === supervisor) {
      killGroup(supervisor);
      return;
    }
    try {
      process.kill(this.servingPid, 'SIGKILL');
    } catch {
      // Already gone; its supervisor is cleaning up.
    }
    const timer = setTimeout(() => killGroup(supervisor), SUPERVISOR_CLEANUP_MS);
    void this.exit.then(() => clearTimeout(timer));
  }
}

/** The address grpc-js dials: the socket the worker was given, or the port it chose. */
function workerAddress(handshake: Handshake, options: WorkerProcessOptions): string {
  if (options.socketPath !== undefined && handshake.socket === options.socketPath) return `unix://${options.socketPath}`;
  if (options.socketPath === undefined && Number.isInteger(handshake.port)) return `127.0.0.1:${handshake.port}`;
  throw new SnakepitError(
    'worker_start_failed',
    `worker ${options.id} reported ${JSON.stringify(handshake)}, expected ${options.socketPath === undefined ? 'a port' : `the socket ${options.socketPath}`}`,
    { workerId: options.id },
  );
}

function workerEnvironment(options: WorkerProcessOptions): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    PYTHONPATH: workerPythonPath(options.pythonPath),
    PYTHONUNBUFFERED: '1',
  };
  // A token meant for remote workers has no business with tools either; the worker's own comes on stdin.
  delete environment['SNAKEPIT_TOKEN'];
  return environment;
}

/** The pipe the worker writes its log records to (`--record-fd`), apart from what its tools print on stderr. */
function recordPipe(child: ChildProcess): Readable {
  const pipe = child.stdio[RECORD_FD];
  if (!(pipe instanceof Readable)) throw new Error(`the worker's record pipe (fd ${RECORD_FD}) was not opened as a readable stream`);
  return pipe;
}

/** Hands a line of the worker's record pipe to `onLog`, the record parsed (else the line as it is); returns its text. */
function readRecordLine(line: string, options: WorkerProcessOptions): string {
  const record = parseWorkerLog(line, options.id);
  if (record === undefined) {
    options.onLog(line, options.id);
    return line;
  }
  const text = formatWorkerLog(record);
  options.onLog(text, options.id, record);
  return text;
}

/**
 * Ends a worker that failed to start. Its supervisor, once the worker is gone, ends every process below it,
 * those in sessions of their own too (an adapter's `initialize()` may have started some): it is asked to stop
 * (at once when the worker exited, as it does when its start fails; within SUPERVISOR_STOP_MS when it hangs),
 * and its group is killed only then. Killing the group at once would leave those processes behind.
 */
async function abandonStart(child: ChildProcess, exit: Promise<unknown>): Promise<void> {
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exit, new Promise((resolve) => (timer = setTimeout(resolve, SUPERVISOR_STOP_MS)))]);
  clearTimeout(timer);
  killGroup(child.pid);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

function readHandshake(
  child: ChildProcess,
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  options: WorkerProcessOptions,
  outputTail: readonly string[],
): Promise<Handshake> {
  const failure = (message: string, details: { pythonType?: string; pythonTraceback?: string; cause?: unknown } = {}) =>
    new SnakepitError('worker_start_failed', message, {
      workerId: options.id,
      hint: details.pythonTraceback ? undefined : outputTail.join('\n') || undefined,
      ...details,
    });
  return new Promise<Handshake>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(failure(`worker ${options.id} did not report ready within ${options.startTimeoutMs} ms`)),
      options.startTimeoutMs,
    );
    const { signal } = options;
    const closing = () =>
      settle(() =>
        reject(new SnakepitError('pool_closed', `the pool closed while worker ${options.id} was starting`, { workerId: options.id })),
      );
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', closing);
      outcome();
    };
    if (signal?.aborted) closing();
    else signal?.addEventListener('abort', closing, { once: true });
    child.on('error', (error) =>
      settle(() =>
        reject(
          failure(`cannot run the Python interpreter ${JSON.stringify(options.python)}: ${error.message}`, {
            cause: error,
          }),
        ),
      ),
    );
    void exit.then(({ code, signal }) => {
      // Let stderr's last lines arrive before quoting them.
      setImmediate(() =>
        settle(() =>
          reject(
            failure(`worker ${options.id} exited before it was ready (${signal ?? `code ${code}`}): ${outputTail.at(-1) ?? 'no output'}`),
          ),
        ),
      );
    });
    readBoundedLines(child.stdout!, (line, cut) => {
      if (cut) {
        options.onLog(line, options.id);
      } else if (line.startsWith(READY_PREFIX)) {
        settle(() => resolve(JSON.parse(line.slice(READY_PREFIX.length)) as Handshake));
      } else if (line.startsWith(FAILED_PREFIX)) {
        const report = JSON.parse(line.slice(FAILED_PREFIX.length)) as { type: string; message: string; traceback: string };
        settle(() =>
          reject(
            failure(`cannot load adapter ${options.adapter}: ${report.type}: ${report.message}`, {
              pythonType: report.type,
              pythonTraceback: report.traceback,
            }),
          ),
        );
      } else {
        options.onLog(line, options.id);
      }
    });
  });
}

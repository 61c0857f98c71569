import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Observable } from 'rxjs';
import type { Chunk } from './chunk.js';
import { CallScope, type CallOptions } from './call-scope.js';
import { pb } from './contract/bridge-client.js';
import { decodePayload } from './contract/payload.js';
import { errorFromStatus } from './contract/status-error.js';
import { SnakepitError } from './errors.js';
import { consumeWithCallback, type ChunkCallback } from './execute-stream.js';
import type { FlowControl } from './flow-control.js';
import { iterateStream } from './iterate-stream.js';
import { encodeArguments, type ToolArguments } from './json-arguments.js';
import { WorkerPool } from './pool.js';
import { resolvePython } from './python-environment.js';
import { StreamCall } from './stream-call.js';
import { WorkerProcess } from './worker-process.js';

export interface PoolOptions {
  /** The adapter class, as `module.Class` or `module:Class`. */
  readonly adapter: string;
  /** Number of worker processes. Default: the number of CPUs. */
  readonly size?: number;
  /** Directories added to the workers' PYTHONPATH, where the adapter's module lives. */
  readonly pythonPath?: string | readonly string[];
  /** The Python interpreter. Default: `$SNAKEPIT_PYTHON`, then `.venv` of the project, then `python3`. */
  readonly python?: string;
  readonly cwd?: string;
  /** Extra environment variables for the workers. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a worker may take to start, in ms. Default 30000. */
  readonly startTimeout?: number;
  /** Largest gRPC message either side accepts, in bytes. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Receives each line workers write to stderr. Default: prefixed and written to `process.stderr`. */
  readonly onLog?: (line: string, workerId: string) => void;
}

export interface ToolParameter {
  readonly name: string;
  /** The Python annotation's name, or `any`. */
  readonly type: string;
  readonly required: boolean;
  /** The default value, when it is JSON. */
  readonly default?: unknown;
}

export interface ToolInfo {
  readonly name: string;
  readonly description: string;
  readonly supportsStreaming: boolean;
  readonly parameters: readonly ToolParameter[];
}

export interface CloseOptions {
  /** How long workers get to stop before they are killed, in ms. Default 2000. */
  readonly gracePeriod?: number;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_CLOSE_GRACE_MS = 2_000;

function writeWorkerLog(line: string, workerId: string): void {
  process.stderr.write(`[snakepit ${workerId}] ${line}\n`);
}

function invalidOption(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', `createPool: ${message}`);
}

/** A pool of Python workers serving one adapter. Create it with `createPool`. */
export class SnakepitPool {
  private readonly activeCalls = new Set<CallScope>();
  private readonly poolId = randomBytes(3).toString('hex');
  private callCount = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly workers: WorkerPool,
    private readonly toolList: readonly ToolInfo[],
  ) {}

  /** @internal use `createPool`. */
  static async create(options: PoolOptions): Promise<SnakepitPool> {
    if (typeof options?.adapter !== 'string' || options.adapter.trim() === '') {
      throw invalidOption('`adapter` must name the adapter class, as "module.Class"');
    }
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw invalidOption(`\`size\` must be a positive integer, got ${String(size)}`);
    const pythonPath = typeof options.pythonPath === 'string' ? [options.pythonPath] : (options.pythonPath ?? []);
    const python = resolvePython(options.python);
    const token = randomBytes(24).toString('base64url');
    const startTimeoutMs = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
    let workerCount = 0;
    const spawn = () =>
      WorkerProcess.start({
        id: `worker-${++workerCount}`,
        python,
        adapter: options.adapter,
        pythonPath,
        cwd: options.cwd,
        env: options.env ?? {},
        token,
        maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        startTimeoutMs,
        onLog: options.onLog ?? writeWorkerLog,
      });
    const workers = await WorkerPool.start(size, {
      spawn,
      onRestartFailed: (error) => (options.onLog ?? writeWorkerLog)(`replacement failed to start: ${String(error)}`, 'pool'),
    });
    try {
      const first = workers.liveWorkers[0];
      if (first === undefined) throw new SnakepitError('worker_start_failed', 'no worker is running');
      const specs = await first.connection.listTools(new Date(Date.now() + startTimeoutMs));
      return new SnakepitPool(workers, specs.map(toToolInfo));
    } catch (error) {
      await workers.close(0);
      throw error;
    }
  }

  /** The adapter's tools, as its workers reported them at start. */
  tools(): readonly ToolInfo[] {
    return this.toolList;
  }

  /**
   * Runs a streaming tool. Nothing happens until subscription; each
   * subscription runs the tool once on a worker of its own and emits its
   * chunks in order, the last with `isFinal: true`. Unsubscribing cancels
   * the call and closes the Python generator.
   */
  stream<T = unknown>(tool: string, args?: ToolArguments, options: CallOptions = {}): Observable<Chunk<T>> {
    return this.streamWithFlow<T>(tool, args, options, undefined);
  }

  /**
   * Runs a streaming tool and calls `callback(chunk)` for each chunk,
   * synchronously and in order. When the callback returns a promise, the
   * next chunk waits for it, and reading from the worker pauses meanwhile.
   * Resolves when the stream completes, rejects with its error.
   */
  executeStream<T = unknown>(
    tool: string,
    args: ToolArguments | undefined,
    callback: ChunkCallback<T>,
    options: CallOptions = {},
  ): Promise<void> {
    return consumeWithCallback((flow) => this.streamWithFlow<T>(tool, args, options, flow), callback);
  }

  /**
   * Runs a streaming tool as an async iterable, for `for await` loops: the
   * worker runs only as far ahead of the loop as the buffers between them
   * allow, and leaving the loop early cancels the call.
   */
  iterate<T = unknown>(tool: string, args?: ToolArguments, options: CallOptions = {}): AsyncIterableIterator<Chunk<T>> {
    return iterateStream((flow) => this.streamWithFlow<T>(tool, args, options, flow));
  }

  /** Runs a unary tool and resolves with its result. */
  execute<R = unknown>(tool: string, args?: ToolArguments, options: CallOptions = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const request = this.request(tool, args, options, reject);
      if (request === undefined) return;
      const scope = new CallScope(this.workers, options, reject, this.activeCalls);
      scope.run((worker) => {
        const call = worker.connection.executeTool(request, (error, response) => {
          scope.end();
          if (error !== null || response === undefined) {
            reject(error ? errorFromStatus(error, { workerId: worker.id, tool }) : new SnakepitError('transport_error', 'empty response'));
            return;
          }
          try {
            resolve(decodePayload(response.encoding, response.result, response.has_array ? response.array : undefined) as R);
          } catch (decodeError) {
            reject(new SnakepitError('transport_error', `cannot decode the result: ${String(decodeError)}`, { cause: decodeError }));
          }
        });
        return call;
      });
    });
  }

  /**
   * Stops every worker, gracefully then by force. Calls still running fail
   * with `pool_closed`; later calls are refused with it. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      for (const call of [...this.activeCalls]) call.abort(new SnakepitError('pool_closed', 'the pool was closed'));
      await this.workers.close(options.gracePeriod ?? DEFAULT_CLOSE_GRACE_MS);
    })();
    return this.closing;
  }

  private streamWithFlow<T>(
    tool: string,
    args: ToolArguments | undefined,
    options: CallOptions,
    flow: FlowControl | undefined,
  ): Observable<Chunk<T>> {
    return new Observable<Chunk<T>>((subscriber) => {
      const fail = (error: unknown) => subscriber.error(error);
      const request = this.request(tool, args, options, fail);
      if (request === undefined) return;
      const scope = new CallScope(this.workers, options, fail, this.activeCalls);
      scope.run((worker) => {
        const call = new StreamCall<T>(
          worker,
          request,
          {
            next: (chunk) => subscriber.next(chunk),
            error: (error) => {
              scope.end();
              subscriber.error(error);
            },
            complete: () => {
              scope.end();
              subscriber.complete();
            },
          },
        );
        flow?.attach(call);
        call.start();
        return call;
      });
      return () => scope.dispose();
    });
  }

  /** The request for a call, or undefined after reporting why there cannot be one. */
  private request(
    tool: string,
    args: ToolArguments | undefined,
    options: CallOptions,
    fail: (error: unknown) => void,
  ): InstanceType<typeof pb.ExecuteToolRequest> | undefined {
    if (this.closing !== undefined) {
      fail(new SnakepitError('pool_closed', 'the pool is closed', { tool }));
      return undefined;
    }
    if (typeof tool !== 'string' || tool === '') {
      fail(new SnakepitError('invalid_arguments', `the tool name must be a non-empty string, got ${String(tool)}`));
      return undefined;
    }
    try {
      return new pb.ExecuteToolRequest({
        tool_name: tool,
        arguments: encodeArguments(args),
        session_id: options.sessionId ?? '',
        call_id: `${this.poolId}-${++this.callCount}`,
      });
    } catch (error) {
      fail(error);
      return undefined;
    }
  }
}

function toToolInfo(spec: InstanceType<typeof pb.ToolSpec>): ToolInfo {
  return {
    name: spec.name,
    description: spec.description,
    supportsStreaming: spec.supports_streaming,
    parameters: spec.parameters.map((parameter) => ({
      name: parameter.name,
      type: parameter.type,
      required: parameter.required,
      ...(parameter.default_json ? { default: JSON.parse(parameter.default_json) as unknown } : {}),
    })),
  };
}

/** Starts a pool of Python workers for an adapter; resolves once every worker is ready. */
export function createPool(options: PoolOptions): Promise<SnakepitPool> {
  return SnakepitPool.create(options);
}

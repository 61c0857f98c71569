import { availableParallelism } from 'node:os';
import { SnakepitError } from '../errors.js';

/** Options of `createPool`. Durations are in milliseconds. */
export interface PoolOptions {
  /** The adapter class, as `module.Class` or `module:Class`. */
  readonly adapter: string;
  /** Number of worker processes. Default: the number of CPUs. */
  readonly size?: number;
  /** Directories added to the workers' PYTHONPATH, where the adapter's module lives. */
  readonly pythonPath?: string | readonly string[];
  /** The Python interpreter. Default: `$SNAKEPIT_PYTHON`, then `.venv` of the project, then `python3`. */
  readonly python?: string;
  /** The workers' working directory. Default: this process's. */
  readonly cwd?: string;
  /** Extra environment variables for the workers. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a worker may take to start (or, with `endpoints`, to answer), in ms. Default 30000 (5000 with `endpoints`). */
  readonly startTimeout?: number;
  /** Largest gRPC message either side accepts, in bytes. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Receives each line workers write to stderr. Default: prefixed and written to `process.stderr`. */
  readonly onLog?: (line: string, workerId: string) => void;

  /** Calls that may wait while every worker is busy; beyond it a call fails at once with `pool_saturated`. Default: no limit. */
  readonly maxQueue?: number;
  /** How long a call may wait for a worker, in ms, before it fails with `queue_timeout`. Default: no limit. */
  readonly queueTimeout?: number;
  /** `strict`: calls with a `sessionId` wait for their session's worker even when others are idle. Default `prefer`. */
  readonly sessionAffinity?: 'prefer' | 'strict';

  /** Replace a worker after it has served this many calls. */
  readonly maxCallsPerWorker?: number;
  /** Replace a worker once it has lived this long, in ms (between calls, never during one). */
  readonly workerTtl?: number;
  /** @deprecated Renamed `workerTtl` (durations are in ms without saying so, as in Node); still accepted. */
  readonly workerTtlMs?: number;
  /** How often idle workers are pinged, in ms; one that does not answer is replaced. 0 turns it off. Default 10000. */
  readonly healthCheckInterval?: number;
  /** How long a health ping may take, in ms. Default 5000. */
  readonly healthCheckTimeout?: number;
  /** After a call is cancelled (unsubscribe, timeout, abort), how long its tool gets to stop, in ms, before its worker is killed and replaced. Default 5000. */
  readonly cancelGracePeriod?: number;
  /** Failed starts in a row after which a worker is not replaced any more and the pool is degraded. Default 5 (no limit with `endpoints`). */
  readonly maxRestartAttempts?: number;

  /**
   * Use workers something else started (`python -m snakepit_bridge serve`),
   * one per `host:port`, instead of child processes. `size`, `python`,
   * `pythonPath`, `cwd` and `env` do not apply. See `resolveEndpoints` for DNS.
   */
  readonly endpoints?: readonly string[];
  /** With `endpoints`: the token the workers were given (default: none). Child workers get a random one. */
  readonly token?: string;
  /** With `endpoints`: connect with TLS. */
  readonly tls?: TlsOptions;
}

/** TLS for connections to remote workers (`endpoints`). */
export interface TlsOptions {
  /** PEM root certificates to trust; default: the system's. */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, for servers that ask for one. */
  readonly cert?: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key?: string | Buffer;
  /** The name to check the server's certificate against, when it differs from the endpoint's host. */
  readonly serverName?: string;
}

export interface ResolvedPoolOptions {
  readonly size: number;
  readonly endpoints: readonly string[] | undefined;
  readonly pythonPath: readonly string[];
  readonly startTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly onLog: (line: string, workerId: string) => void;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  readonly sessionAffinity: 'prefer' | 'strict';
  readonly maxCallsPerWorker: number | undefined;
  readonly workerTtlMs: number | undefined;
  readonly healthCheckIntervalMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly cancelGracePeriodMs: number;
  readonly maxRestartAttempts: number;
}

function writeWorkerLog(line: string, workerId: string): void {
  process.stderr.write(`[snakepit ${workerId}] ${line}\n`);
}

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', `createPool: ${message}`);
}

function positive(name: string, value: number | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value) && value !== Infinity)) {
    throw invalid(`\`${name}\` must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw invalid(`\`${name}\` must be a number >= 0, got ${String(value)}`);
  }
  return value;
}

/** Checks the options and fills in defaults; throws `invalid_arguments` naming the first bad option. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options?.adapter !== 'string' || options.adapter.trim() === '') {
    throw invalid('`adapter` must name the adapter class, as "module.Class"');
  }
  const endpoints = resolveEndpointList(options);
  const size = endpoints?.length ?? positive('size', options.size, true) ?? availableParallelism();
  if (!Number.isFinite(size)) throw invalid('`size` must be finite');
  if (options.sessionAffinity !== undefined && options.sessionAffinity !== 'prefer' && options.sessionAffinity !== 'strict') {
    throw invalid(`\`sessionAffinity\` must be 'prefer' or 'strict', got ${String(options.sessionAffinity)}`);
  }
  if (options.workerTtl !== undefined && options.workerTtlMs !== undefined) {
    throw invalid('give `workerTtl` or its deprecated alias `workerTtlMs`, not both');
  }
  return {
    size,
    endpoints,
    pythonPath: typeof options.pythonPath === 'string' ? [options.pythonPath] : (options.pythonPath ?? []),
    startTimeoutMs: positive('startTimeout', options.startTimeout, false) ?? (endpoints ? 5_000 : 30_000),
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, true) ?? 64 * 1024 * 1024,
    onLog: options.onLog ?? writeWorkerLog,
    maxQueue: nonNegative('maxQueue', options.maxQueue) ?? Infinity,
    queueTimeoutMs: positive('queueTimeout', options.queueTimeout, false),
    sessionAffinity: options.sessionAffinity ?? 'prefer',
    maxCallsPerWorker: positive('maxCallsPerWorker', options.maxCallsPerWorker, true),
    workerTtlMs: positive(options.workerTtlMs === undefined ? 'workerTtl' : 'workerTtlMs', options.workerTtl ?? options.workerTtlMs, false),
    healthCheckIntervalMs: nonNegative('healthCheckInterval', options.healthCheckInterval) ?? 10_000,
    healthCheckTimeoutMs: positive('healthCheckTimeout', options.healthCheckTimeout, false) ?? 5_000,
    cancelGracePeriodMs: nonNegative('cancelGracePeriod', options.cancelGracePeriod) ?? 5_000,
    maxRestartAttempts: positive('maxRestartAttempts', options.maxRestartAttempts, true) ?? (endpoints ? Infinity : 5),
  };
}

function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function resolveEndpointList(options: PoolOptions): readonly string[] | undefined {
  const { endpoints } = options;
  if (endpoints === undefined) {
    if (options.token !== undefined || options.tls !== undefined) throw invalid('`token` and `tls` apply to `endpoints` only');
    return undefined;
  }
  if (!isArray(endpoints) || endpoints.length === 0) throw invalid('`endpoints` must be a non-empty array of "host:port"');
  for (const endpoint of endpoints) {
    if (typeof endpoint !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(endpoint)) {
      throw invalid(`endpoint ${JSON.stringify(endpoint)} is not "host:port"`);
    }
  }
  if (new Set(endpoints).size !== endpoints.length) throw invalid('`endpoints` lists an endpoint twice');
  if (options.size !== undefined && options.size !== endpoints.length) {
    throw invalid(`\`size\` (${options.size}) contradicts the ${endpoints.length} \`endpoints\`; leave it out`);
  }
  return endpoints;
}

import { availableParallelism } from 'node:os';
import { SnakepitError } from '../errors.js';
import type { CallLimits, HostTool, PoolOptions, WorkerLog } from '../public-types.js';

export interface ResolvedPoolOptions {
  readonly size: number;
  readonly endpoints: readonly string[] | undefined;
  readonly pythonPath: readonly string[];
  readonly startTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly onLog: (line: string, workerId: string, record?: WorkerLog) => void;
  readonly logLevel: string | undefined;
  readonly limits: CallLimits;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  readonly sessionAffinity: 'prefer' | 'strict';
  readonly maxCallsPerWorker: number | undefined;
  readonly workerTtlMs: number | undefined;
  readonly healthCheckIntervalMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly cancelGracePeriodMs: number;
  readonly maxRestartAttempts: number;
  /** The host tools by name; undefined when the pool has none. */
  readonly hostTools: ReadonlyMap<string, HostTool> | undefined;
}

function writeWorkerLog(line: string, workerId: string): void {
  process.stderr.write(`[snakepit ${workerId}] ${line}\n`);
}

const LOG_LEVELS = new Set(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);

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
    limits: {
      maxIdLength: positive('maxIdLength', options.maxIdLength, true) ?? 256,
      maxArgumentDepth: positive('maxArgumentDepth', options.maxArgumentDepth, true) ?? 128,
      maxArgumentBytes: positive('maxArgumentBytes', options.maxArgumentBytes, true) ?? 16 * 1024 * 1024,
    },
    logLevel: resolveLogLevel(options, endpoints),
    maxQueue: nonNegative('maxQueue', options.maxQueue) ?? Infinity,
    queueTimeoutMs: positive('queueTimeout', options.queueTimeout, false),
    sessionAffinity: options.sessionAffinity ?? 'prefer',
    maxCallsPerWorker: positive('maxCallsPerWorker', options.maxCallsPerWorker, true),
    workerTtlMs: positive(options.workerTtlMs === undefined ? 'workerTtl' : 'workerTtlMs', options.workerTtl ?? options.workerTtlMs, false),
    healthCheckIntervalMs: nonNegative('healthCheckInterval', options.healthCheckInterval) ?? 10_000,
    healthCheckTimeoutMs: positive('healthCheckTimeout', options.healthCheckTimeout, false) ?? 5_000,
    cancelGracePeriodMs: nonNegative('cancelGracePeriod', options.cancelGracePeriod) ?? 5_000,
    maxRestartAttempts: positive('maxRestartAttempts', options.maxRestartAttempts, true) ?? (endpoints ? Infinity : 5),
    hostTools: resolveHostTools(options.hostTools),
  };
}

function resolveHostTools(hostTools: PoolOptions['hostTools']): ReadonlyMap<string, HostTool> | undefined {
  if (hostTools === undefined) return undefined;
  if (typeof hostTools !== 'object' || hostTools === null || Array.isArray(hostTools)) {
    throw invalid('`hostTools` must be an object of functions by name');
  }
  const tools = new Map<string, HostTool>();
  for (const [name, tool] of Object.entries(hostTools)) {
    if (typeof tool !== 'function') throw invalid(`host tool ${JSON.stringify(name)} must be a function, got ${typeof tool}`);
    if (name.trim() === '') throw invalid('host tool names must be non-empty');
    tools.set(name, tool);
  }
  return tools.size === 0 ? undefined : tools;
}

function resolveLogLevel(options: PoolOptions, endpoints: readonly string[] | undefined): string | undefined {
  const { logLevel } = options;
  if (logLevel === undefined) return undefined;
  if (typeof logLevel !== 'string' || !LOG_LEVELS.has(logLevel.toUpperCase())) {
    throw invalid(`\`logLevel\` must be one of ${[...LOG_LEVELS].join(', ')}, got ${String(logLevel)}`);
  }
  if (endpoints !== undefined) throw invalid('`logLevel` applies to child workers; start a remote worker with --log-level instead');
  return logLevel.toUpperCase();
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

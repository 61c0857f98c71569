import { tokenRefusal } from '../contract/bearer-token.js';
import { tlsMaterialProblem } from '../contract/tls-material.js';
import { lookup as dnsLookup } from 'node:dns/promises';
import { availableParallelism } from 'node:os';
import { SnakepitError } from '../errors.js';
import type { CallLimits, DiscoverOptions, HostTool, PoolOptions, WorkerLog } from '../public-types.js';
import { fitsTimer, MAX_TIMER_MS } from '../timer-limit.js';

/** `discover`, checked and with its defaults. */
export interface ResolvedDiscovery {
  readonly dns: string;
  readonly port: number;
  /** Infinity: only after an endpoint fails. */
  readonly refreshIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly lookup: NonNullable<DiscoverOptions['lookup']>;
}

export interface ResolvedPoolOptions {
  /** Child workers to run; with `endpoints`, one per endpoint; 0 with `discover`. */
  readonly size: number;
  readonly endpoints: readonly string[] | undefined;
  readonly discover: ResolvedDiscovery | undefined;
  /** How the pool reaches its child workers; undefined with `endpoints` or `discover`. */
  readonly transport: 'unix' | 'tcp' | undefined;
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

// NONE: no record at all, as Snakepit's SNAKEPIT_LOG_LEVEL=none.
const LOG_LEVELS = new Set(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'NONE']);

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

/** A duration a timer waits for: positive (or, with `zero`, >= 0), and no longer than a timer can wait. */
function duration(name: string, value: number | undefined, zero = false): number | undefined {
  const ms = zero ? nonNegative(name, value) : positive(name, value, false);
  if (ms !== undefined && !fitsTimer(ms)) throw invalid(`\`${name}\` must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}`);
  return ms;
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
  const badToken = options.token === undefined ? undefined : tokenRefusal(options.token);
  if (badToken !== undefined) throw invalid(badToken);
  const discover = resolveDiscovery(options);
  const remote = endpoints !== undefined || discover !== undefined;
  const size = discover ? 0 : (endpoints?.length ?? positive('size', options.size, true) ?? availableParallelism());
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
    discover,
    transport: resolveTransport(options.transport, remote),
    pythonPath: typeof options.pythonPath === 'string' ? [options.pythonPath] : (options.pythonPath ?? []),
    startTimeoutMs: duration('startTimeout', options.startTimeout) ?? (remote ? 5_000 : 30_000),
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, true) ?? 64 * 1024 * 1024,
    onLog: options.onLog ?? writeWorkerLog,
    limits: {
      maxIdLength: positive('maxIdLength', options.maxIdLength, true) ?? 256,
      maxArgumentDepth: positive('maxArgumentDepth', options.maxArgumentDepth, true) ?? 128,
      maxArgumentBytes: positive('maxArgumentBytes', options.maxArgumentBytes, true) ?? 16 * 1024 * 1024,
    },
    logLevel: resolveLogLevel(options, remote),
    maxQueue: nonNegative('maxQueue', options.maxQueue) ?? Infinity,
    queueTimeoutMs: duration('queueTimeout', options.queueTimeout),
    sessionAffinity: options.sessionAffinity ?? 'prefer',
    maxCallsPerWorker: positive('maxCallsPerWorker', options.maxCallsPerWorker, true),
    workerTtlMs: duration(options.workerTtlMs === undefined ? 'workerTtl' : 'workerTtlMs', options.workerTtl ?? options.workerTtlMs),
    healthCheckIntervalMs: duration('healthCheckInterval', options.healthCheckInterval, true) ?? 10_000,
    healthCheckTimeoutMs: duration('healthCheckTimeout', options.healthCheckTimeout) ?? 5_000,
    cancelGracePeriodMs: duration('cancelGracePeriod', options.cancelGracePeriod, true) ?? 5_000,
    maxRestartAttempts: positive('maxRestartAttempts', options.maxRestartAttempts, true) ?? (remote ? Infinity : 5),
    hostTools: resolveHostTools(options.hostTools),
  };
}

/** Unix sockets for child workers wherever they exist as files with permissions (not Windows); TCP on loopback otherwise. */
function resolveTransport(transport: PoolOptions['transport'], remote: boolean): 'unix' | 'tcp' | undefined {
  if (transport !== undefined && transport !== 'unix' && transport !== 'tcp') {
    throw invalid(`\`transport\` must be 'unix' or 'tcp', got ${String(transport)}`);
  }
  if (remote) {
    if (transport !== undefined) throw invalid('`transport` applies to child workers; `endpoints` and `discover` are reached over TCP');
    return undefined;
  }
  if (transport === 'unix' && process.platform === 'win32') throw invalid("`transport: 'unix'` is not available on Windows");
  return transport ?? (process.platform === 'win32' ? 'tcp' : 'unix');
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

function resolveLogLevel(options: PoolOptions, remote: boolean): string | undefined {
  const { logLevel } = options;
  if (logLevel === undefined) return undefined;
  if (typeof logLevel !== 'string' || !LOG_LEVELS.has(logLevel.toUpperCase())) {
    throw invalid(`\`logLevel\` must be one of ${[...LOG_LEVELS].join(', ')}, got ${String(logLevel)}`);
  }
  if (remote)
    throw invalid('`logLevel` applies to child workers; start a remote worker (`endpoints`, `discover`) with --log-level instead');
  return logLevel.toUpperCase();
}

function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function checkTls({ tls }: PoolOptions): void {
  if (tls === undefined) return;
  const problem = tlsMaterialProblem('tls', tls);
  if (problem !== undefined) throw invalid(problem);
}

function resolveEndpointList(options: PoolOptions): readonly string[] | undefined {
  const { endpoints } = options;
  if (endpoints === undefined) {
    if (options.discover === undefined && (options.token !== undefined || options.tls !== undefined)) {
      throw invalid('`token` and `tls` apply to `endpoints` and `discover` only');
    }
    return undefined;
  }
  checkTls(options);
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

const DISCOVER_KEYS = new Set(['dns', 'port', 'refreshInterval', 'drainTimeout', 'lookup']);

function resolveDiscovery(options: PoolOptions): ResolvedDiscovery | undefined {
  const { discover } = options;
  if (discover === undefined) return undefined;
  if (typeof discover !== 'object' || discover === null || isArray(discover)) {
    throw invalid('`discover` must be an object: { dns, port, refreshInterval?, drainTimeout?, lookup? }');
  }
  if (options.endpoints !== undefined) throw invalid('give `discover` or `endpoints`, not both');
  if (options.size !== undefined) {
    throw invalid("`size` does not apply with `discover`: the pool's size is the sum of its endpoints' capacities; leave it out");
  }
  for (const key of Object.keys(discover)) {
    if (!DISCOVER_KEYS.has(key)) throw invalid(`\`discover.${key}\` is not an option; the options are ${[...DISCOVER_KEYS].join(', ')}`);
  }
  const { dns, port, refreshInterval, drainTimeout, lookup } = discover;
  if (typeof dns !== 'string' || !/^[^\s:/[\]]{1,253}$/.test(dns)) {
    throw invalid(`\`discover.dns\` must be a host name (without a port), got ${JSON.stringify(dns)}`);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw invalid(`\`discover.port\` must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const refreshIntervalMs = duration('discover.refreshInterval', refreshInterval) ?? 10_000;
  const drainTimeoutMs = duration('discover.drainTimeout', drainTimeout, true) ?? 30_000;
  if (lookup !== undefined && typeof lookup !== 'function') {
    throw invalid(`\`discover.lookup\` must be a function shaped as dns.promises.lookup, got ${typeof lookup}`);
  }
  return {
    dns,
    port,
    refreshIntervalMs,
    drainTimeoutMs,
    lookup: lookup ?? ((hostname, lookupOptions) => dnsLookup(hostname, lookupOptions)),
  };
}

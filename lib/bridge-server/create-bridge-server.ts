import { tokenRefusal } from '../contract/bearer-token.js';
import { tlsMaterialProblem } from '../contract/tls-material.js';
import { randomBytes } from 'node:crypto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { SnakepitError } from '../errors.js';
import type {
  BridgeServer,
  BridgeServerOptions,
  BridgeServerShutdownOptions,
  BridgeServerTlsOptions,
  CallLimits,
} from '../public-types.js';
import type { SnakepitPool } from '../snakepit-pool.js';
import { TokenCheck } from './token-check.js';
import { BridgeService } from './bridge-service.js';
import { BRIDGE_SERVICE } from '../contract/service-definition.js';
import { StandardServices } from './standard-services.js';
import { DEFAULT_TIMEOUT_MS } from '../call/call-scope.js';

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const DEFAULT_PER_CLIENT_QUEUE = 100;
/** Bytes of requests the waiting calls may hold: sixteen with arguments at the pool's default limit, 16 MiB. */
const DEFAULT_MAX_WAITING_BYTES = 256 * 1024 * 1024;

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', `createBridgeServer: ${message}`);
}

function credentialsFor(tls: BridgeServerTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw invalid('`tls` needs both `cert` and `key` (PEM)');
  if (tls.requireClientCert && !tls.ca) throw invalid('`tls.requireClientCert` needs `tls.ca` to check client certificates against');
  const problem = tlsMaterialProblem('tls', tls);
  if (problem !== undefined) throw invalid(problem);
  return ServerCredentials.createSsl(
    tls.ca ? Buffer.from(tls.ca) : null,
    [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
    tls.requireClientCert ?? false,
  );
}

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw invalid(`\`${name}\` must be a positive integer, got ${String(value)}`);
}

function checkOptions(options: BridgeServerOptions): void {
  const { host, port, token, maxMessageBytes, callTimeout, clientId } = options;
  positiveInteger('perClientConcurrency', options.perClientConcurrency);
  positiveInteger('perClientQueue', options.perClientQueue);
  positiveInteger('maxWaitingBytes', options.maxWaitingBytes);
  if (clientId !== undefined && typeof clientId !== 'function') throw invalid('`clientId` must be a function of the call');
  if (host !== undefined && (typeof host !== 'string' || host.trim() === '')) throw invalid('`host` must be a non-empty string');
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw invalid(`\`port\` must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const badToken = token === undefined ? undefined : tokenRefusal(token);
  if (badToken !== undefined) throw invalid(badToken);
  if (maxMessageBytes !== undefined && !(Number.isInteger(maxMessageBytes) && maxMessageBytes > 0)) {
    throw invalid(`\`maxMessageBytes\` must be a positive integer, got ${String(maxMessageBytes)}`);
  }
  if (callTimeout !== undefined && !(typeof callTimeout === 'number' && callTimeout > 0)) {
    throw invalid(`\`callTimeout\` must be a positive number of ms (or Infinity), got ${String(callTimeout)}`);
  }
}

/**
 * The largest request a client may send: arguments of `maxArgumentBytes`
 * and three ids of `maxIdLength` characters (4 bytes each at most in UTF-8),
 * with their tags and lengths. grpc-js refuses a larger message as it
 * arrives, before buffering it, with RESOURCE_EXHAUSTED.
 */
function largestRequest(limits: CallLimits): number {
  return limits.maxArgumentBytes + 3 * 4 * limits.maxIdLength + 64;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error === null) resolve(port);
      else
        reject(new SnakepitError('transport_error', `createBridgeServer: cannot listen on ${address}: ${error.message}`, { cause: error }));
    });
  });
}

/**
 * Serves a pool's tools to outside gRPC clients, in any language, through
 * the BridgeService of `proto/bridge.proto`: `ExecuteStreamingTool` and
 * `ExecuteStreamingToolBatched` stream a tool's chunks from a pooled worker
 * (the final one decorated with `execution_time_ms`, `tool_type` and
 * `worker_id`), `ExecuteTool` runs a unary tool, `ListTools` and `Ping`.
 * A client that cancels, or whose deadline passes, cancels the pooled call
 * and closes the Python generator. Failures end the call with a status
 * code and the `snakepit-error-bin` trailer holding an `ErrorDetail`.
 * It also serves `grpc.health.v1.Health`, without the token (NOT_SERVING
 * while it shuts down, or once its pool is degraded or closed), and server
 * reflection, with it.
 *
 * Resolves once the server listens. Closing it leaves the pool open.
 */
export async function createBridgeServer(pool: SnakepitPool, options: BridgeServerOptions = {}): Promise<BridgeServer> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const credentials = credentialsFor(options.tls);
  const maxMessageBytes = options.maxMessageBytes ?? pool.maxMessageBytes;
  const id = options.id ?? `bridge-${randomBytes(3).toString('hex')}`;
  const tokenCheck = options.token === undefined ? undefined : new TokenCheck(options.token);
  const service = new BridgeService({
    pool,
    id,
    tokenCheck,
    callTimeout: options.callTimeout ?? DEFAULT_TIMEOUT_MS,
    clientId: options.clientId,
    perClientConcurrency: options.perClientConcurrency,
    perClientQueue: options.perClientQueue ?? DEFAULT_PER_CLIENT_QUEUE,
    maxWaitingBytes: options.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES,
  });
  const server = new Server({
    'grpc.max_receive_message_length': Math.min(maxMessageBytes, largestRequest(pool.limits)),
    'grpc.max_send_message_length': maxMessageBytes,
  });
  server.addService(BRIDGE_SERVICE, service.implementation());
  const standard = new StandardServices(tokenCheck);
  standard.addTo(server);
  // A pool that gave up a worker, or closed, cannot serve as it should: health says so.
  const poolWatch = pool.events$.subscribe({
    next: (event) => {
      if (event.type === 'pool_degraded') standard.stopServing();
    },
    complete: () => standard.stopServing(),
  });
  if (pool.stats().degraded) standard.stopServing();
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let port: number;
  try {
    port = await bind(server, `${hostPart}:${options.port ?? 0}`, credentials);
  } catch (error) {
    poolWatch.unsubscribe();
    service.stopWatchingPool();
    throw error;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // The pooled calls are cancelled here rather than when grpc-js reports the broken streams, so
    // that their workers are handed back as soon as their tools stop.
    closed ??= (poolWatch.unsubscribe(), standard.drain(), service.cancelAll(), server.forceShutdown(), Promise.resolve());
    return closed;
  };
  const shutdown = (shutdownOptions: BridgeServerShutdownOptions = {}): Promise<void> => {
    if (closed !== undefined) return closed;
    standard.drain();
    const timeout = shutdownOptions.timeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void close().then(resolve), timeout);
      server.tryShutdown(() => {
        clearTimeout(timer);
        poolWatch.unsubscribe();
        service.stopWatchingPool();
        closed ??= Promise.resolve();
        resolve();
      });
    });
  };
  return { address: `${hostPart}:${port}`, host, port, id, shutdown, close };
}

import { status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { BridgeConnection, SERVICE_NAME } from '../contract/bridge-connection.js';
import { ERROR_METADATA_KEY, errorFromStatus, isTransportFailure } from '../contract/error-from-status.js';
import { SnakepitError } from '../errors.js';
import { handshakeRefusal, type ClientTls } from './handshake-refusal.js';
import { ExitSignal, type Worker, type WorkerExit } from './worker.js';

export interface RemoteWorkerOptions {
  /** `host:port` of a worker started with `python -m snakepit_bridge serve`. */
  readonly endpoint: string;
  /** The adapter the pool expects, as `module.Class` or `module:Class`. */
  readonly adapter: string;
  readonly token: string | undefined;
  readonly credentials: ChannelCredentials | undefined;
  readonly channelOptions: Readonly<Record<string, string | number>>;
  /** The pool's `tls`, from which `credentials` were made: to tell why a handshake fails. */
  readonly tls?: ClientTls | undefined;
  readonly maxMessageBytes: number;
  readonly connectTimeoutMs: number;
  /** Aborted when the pool closes: a connection attempt under way gives up at once (`pool_closed`). */
  readonly signal?: AbortSignal | undefined;
}

/** Why an endpoint cannot serve: what its answer said, or that it did not answer. */
function refusal(endpoint: string, error: unknown): SnakepitError {
  if (error instanceof SnakepitError) return error;
  if (isServiceError(error) && error.code === status.UNIMPLEMENTED && !isOurRefusal(error)) {
    // Our workers answer every method of the contract; a server that does not know ListTools speaks another one.
    return new SnakepitError('worker_start_failed', `endpoint ${endpoint} does not serve ${SERVICE_NAME}`, {
      workerId: endpoint,
      hint:
        `it answers UNIMPLEMENTED to ListTools: it serves another protocol (Snakepit's own snakepit.bridge, another ` +
        `version of this contract, or another service); point the pool at \`python -m snakepit_bridge serve\` of this version`,
      cause: error,
    });
  }
  if (isServiceError(error) && !isTransportFailure(error) && error.code !== status.DEADLINE_EXCEEDED) {
    return errorFromStatus(error, { workerId: endpoint, tool: 'ListTools' });
  }
  return new SnakepitError(
    'worker_unavailable',
    `endpoint ${endpoint} does not answer: ${error instanceof Error ? error.message : String(error)}`,
    {
      workerId: endpoint,
      cause: error,
    },
  );
}

/** A status our own workers sent: they attach an ErrorDetail to every failure. */
function isOurRefusal(error: ServiceError): boolean {
  return error.metadata?.get(ERROR_METADATA_KEY).length > 0;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'metadata' in error;
}

function canonicalAdapter(adapter: string): string {
  return adapter.replace(':', '.');
}

/**
 * A worker that something else started, on this host or another: the pool
 * only connects to it. It "exits" when it stops answering, and is "replaced"
 * by connecting again once it answers.
 */
export class RemoteWorker implements Worker {
  readonly lossCode = 'worker_unavailable';
  readonly pid = undefined;
  private readonly exitSignal = new ExitSignal();

  private constructor(
    readonly id: string,
    readonly connection: BridgeConnection,
    readonly capacity: number,
  ) {}

  /**
   * Connects and checks that the endpoint answers, with our token, for the expected adapter, and its
   * health ping, which says how many calls it serves at once.
   */
  static async connect(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const connection = new BridgeConnection(options.endpoint, {
      token: options.token,
      credentials: options.credentials,
      maxMessageBytes: options.maxMessageBytes,
      channelOptions: options.channelOptions,
    });
    const deadline = () => new Date(Date.now() + options.connectTimeoutMs);
    // An endpoint that accepts TCP but never answers holds each step until its deadline (startTimeout):
    // a closing pool must not wait for that.
    const { signal } = options;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(
          new SnakepitError('pool_closed', `the pool closed while connecting to endpoint ${options.endpoint}`, {
            workerId: options.endpoint,
          }),
        );
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    const step = <T>(work: Promise<T>): Promise<T> => Promise.race([work, aborted]);
    let capacity: number;
    try {
      const connectBy = deadline();
      await step(connection.connect(connectBy, (lastError) => handshakeRefusal(options.endpoint, lastError, options.tls, connectBy)));
      const served = (await step(connection.listTools(deadline()))).adapter;
      if (canonicalAdapter(served) !== canonicalAdapter(options.adapter)) {
        throw new SnakepitError('worker_start_failed', `endpoint ${options.endpoint} serves ${served}, not ${options.adapter}`, {
          workerId: options.endpoint,
        });
      }
      // 0 from a server older than the field: one call at a time, as before.
      capacity = Math.max(1, (await step(connection.ping(deadline()))).capacity);
    } catch (error) {
      connection.close();
      throw refusal(options.endpoint, error);
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
    return new RemoteWorker(options.endpoint, connection, capacity);
  }

  get exited(): boolean {
    return this.exitSignal.fired;
  }

  onExit(listener: (exit: WorkerExit) => void): () => void {
    return this.exitSignal.listen(listener);
  }

  /** Stops using the endpoint; the server itself keeps running. */
  stop(): Promise<void> {
    this.leave(true);
    return Promise.resolve();
  }

  /** Takes the endpoint out of service until it answers again. */
  kill(): void {
    this.leave(false);
  }

  private leave(expected: boolean): void {
    if (this.exitSignal.fired) return;
    this.connection.close();
    this.exitSignal.fire({ code: null, signal: null, expected });
  }
}

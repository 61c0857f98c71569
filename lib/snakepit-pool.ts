import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { Observable } from 'rxjs';
import type { Chunk } from './chunk.js';
import { CallRegistry } from './call/call-registry.js';
import { CallScope, type InternalCallOptions } from './call/call-scope.js';
import { pb, SESSION_AFFINITY_METADATA_KEY } from './contract/bridge-connection.js';
import { SnakepitError } from './errors.js';
import { MAX_TIMER_MS } from './timer-limit.js';
import { callbackRefusal } from './callback-refusal.js';
import { consumeWithCallback } from './call/consume-with-callback.js';
import type { FlowControl } from './call/flow-control.js';
import { iterateStream } from './call/iterate-stream.js';
import { checkId } from './call/client-input.js';
import { encodeArguments, type EncodedArguments } from './call/tool-arguments.js';
import { EndpointDiscovery } from './pool/endpoint-discovery.js';
import { PoolEventSource } from './pool/pool-events.js';
import { resolvePoolOptions, type ResolvedPoolOptions } from './pool/pool-options.js';
import { WorkerPool } from './pool/worker-pool.js';
import { resolvePython } from './worker/python-environment.js';
import { HostToolRelay } from './call/host-tool-relay.js';
import { PoolTelemetry } from './telemetry/pool-telemetry.js';
import { StreamCall } from './call/stream-call.js';
import { UnaryCall } from './call/unary-call.js';
import { RemoteWorker } from './worker/remote-worker.js';
import { SocketDirectory } from './worker/socket-directory.js';
import { WorkerProcess } from './worker/worker-process.js';
import type { Worker } from './worker/worker.js';
import type {
  CallLimits,
  CallOptions,
  ChunkCallback,
  CloseOptions,
  HostTool,
  PoolEvent,
  PoolEventInit,
  PoolOptions,
  PoolStats,
  TlsOptions,
  ToolInfo,
} from './public-types.js';
import { toToolInfo } from './contract/tool-info.js';
import type {
  StreamingToolName,
  ToolArguments,
  ToolArgumentsParameter,
  ToolCallParameters,
  ToolData,
  ToolResult,
  ToolsShape,
  UnaryToolName,
  UntypedTools,
} from './typed-tools.js';

const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const DEFAULT_CLOSE_GRACE_MS = 2_000;

/**
 * A pool of Python workers serving one adapter. Create it with `createPool`.
 *
 * `Tools` describes the adapter's tools (generate it with
 * `npx snakepit-rx types`): with it, a call names a tool the adapter has, in
 * the right way, with the right arguments, and its chunks' data or its result
 * has the tool's type. Without it, any name and any JSON object of arguments
 * compile, and the caller declares what comes back.
 */
export class SnakepitPool<Tools extends ToolsShape<Tools> = UntypedTools> {
  /**
   * What happens in the pool, as it happens: workers started, exited,
   * restarted, recycled; calls queued, started and finished (with duration,
   * chunk count and outcome). Hot: subscribe before the calls of interest.
   */
  readonly events$: Observable<PoolEvent>;
  private readonly registry: CallRegistry;
  private readonly telemetry: PoolTelemetry;
  private readonly poolId = randomBytes(3).toString('hex');
  private callCount = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The adapter class the workers serve, as `module.Class`. */
    readonly adapter: string,
    /** The largest gRPC message the pool and its workers accept, in bytes. */
    readonly maxMessageBytes: number,
    /**
     * What every call's input is checked against (the options `maxIdLength`,
     * `maxArgumentDepth` and `maxArgumentBytes`): servers built on the pool
     * check their own clients' ids against the same bounds.
     */
    readonly limits: CallLimits,
    private readonly workers: WorkerPool,
    private readonly toolList: readonly ToolInfo[],
    private readonly events: PoolEventSource,
    private readonly sessionAffinity: 'prefer' | 'strict',
    private readonly hostTools: ReadonlyMap<string, HostTool> | undefined,
    private readonly discovery: EndpointDiscovery | undefined,
    telemetry: PoolTelemetry,
    /** Frees what the workers' transport holds once they are stopped (a pool's socket directory). */
    private readonly releaseTransport: () => void,
  ) {
    this.events$ = events.events$;
    this.telemetry = telemetry;
    this.registry = new CallRegistry(workers, sessionAffinity, events.emit, telemetry);
    telemetry.observe(this);
  }

  /** @internal use `createPool`. */
  static async create<Tools extends ToolsShape<Tools>>(options: PoolOptions): Promise<SnakepitPool<Tools>> {
    const resolved = resolvePoolOptions(options);
    const events = new PoolEventSource();
    const telemetry = await PoolTelemetry.create();
    const emit = (event: PoolEventInit) => {
      if (event.type === 'worker_restarted') telemetry.workerRestarted();
      events.emit(event);
    };
    const discovery = resolved.discover && new EndpointDiscovery(resolved.discover, emit);
    const remote = resolved.endpoints !== undefined || discovery !== undefined;
    const members = discovery
      ? await discovery.resolve()
      : (resolved.endpoints ?? Array.from({ length: resolved.size }, (_, slot) => String(slot + 1)));
    const { start, release } = remote ? remoteWorkers(options, resolved) : localWorkers(options, resolved, emit);
    let described: ReturnType<Worker['connection']['listTools']> | undefined;
    const spawn = async (member: string, signal: AbortSignal) => {
      const startedAt = performance.now();
      const worker = await start(member, signal);
      emit({ type: 'worker_started', workerId: worker.id, pid: worker.pid, startupMs: performance.now() - startedAt });
      // The first worker ready describes the adapter while the others still start (describing builds every
      // tool's schema: tens of ms). Awaited below; a pool that fails to start never reads it.
      if (described === undefined) {
        described = worker.connection.listTools(new Date(Date.now() + resolved.startTimeoutMs));
        described.catch(() => undefined);
      }
      return worker;
    };
    let workers: WorkerPool;
    try {
      workers = await WorkerPool.start({
        ...resolved,
        members,
        spawn,
        requireAllAtStart: !remote,
        endpoints: remote,
        emit,
        onWorkerLost: discovery && (() => discovery.refreshNow()),
      });
    } catch (error) {
      release();
      throw error;
    }
    discovery?.follow(workers);
    try {
      if (described === undefined) throw new SnakepitError('worker_start_failed', 'no worker is running');
      const { adapter, tools } = await described;
      return new SnakepitPool<Tools>(
        adapter,
        resolved.maxMessageBytes,
        resolved.limits,
        workers,
        tools.map(toToolInfo),
        events,
        resolved.sessionAffinity,
        resolved.hostTools,
        discovery,
        telemetry,
        release,
      );
    } catch (error) {
      discovery?.stop();
      await workers.close(0);
      release();
      throw error;
    }
  }

  /**
   * How many calls the pool runs at once when all its workers run: its `size`
   * option, or the sum of its endpoints' capacities (with `discover`, as the
   * endpoints come and go).
   */
  get size(): number {
    return this.workers.size;
  }

  /**
   * A snapshot: workers alive, endpoints and slots in service, calls busy,
   * idle and queued, calls and errors so far, restarts, degradation.
   * `busy + queued` against `slots` is what an autoscaler follows.
   */
  stats(): PoolStats {
    return {
      workers: this.workers.liveWorkers.length,
      endpoints: this.workers.endpointCount,
      slots: this.workers.slots,
      busy: this.workers.busyCount,
      idle: this.workers.idleCount,
      queued: this.workers.queued,
      calls: this.workers.calls,
      errors: this.registry.errors,
      restarts: this.workers.restarts,
      degraded: this.workers.degraded,
    };
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
   *
   * `T` declares the chunks' data for a pool without `Tools`; with `Tools`,
   * the data has the tool's type.
   */
  stream<T = unknown, Name extends StreamingToolName<Tools> = StreamingToolName<Tools>>(
    tool: Name,
    ...[args, options]: ToolCallParameters<Tools, Name, CallOptions>
  ): Observable<Chunk<ToolData<Tools, Name, T>>> {
    return this.streamWithFlow<ToolData<Tools, Name, T>>(tool, args, options === undefined ? {} : options, undefined);
  }

  /**
   * Runs a streaming tool and calls `callback(chunk)` for each chunk,
   * synchronously and in order. When the callback returns a promise, the
   * next chunk waits for it, and reading from the worker pauses meanwhile.
   * Resolves when the stream completes, rejects with its error.
   */
  executeStream<T = unknown, Name extends StreamingToolName<Tools> = StreamingToolName<Tools>>(
    tool: Name,
    args: ToolArgumentsParameter<Tools, Name>,
    callback: ChunkCallback<ToolData<Tools, Name, T>>,
    options: CallOptions = {},
  ): Promise<void> {
    const refusal = callbackRefusal(callback);
    if (refusal !== undefined) return Promise.reject(new SnakepitError('invalid_arguments', refusal, { tool }));
    return consumeWithCallback((flow) => this.streamWithFlow<ToolData<Tools, Name, T>>(tool, args, options, flow), callback);
  }

  /**
   * Runs a streaming tool as an async iterable, for `for await` loops: the
   * worker runs only as far ahead of the loop as the buffers between them
   * allow, and leaving the loop early cancels the call.
   */
  iterate<T = unknown, Name extends StreamingToolName<Tools> = StreamingToolName<Tools>>(
    tool: Name,
    ...rest: ToolCallParameters<Tools, Name, CallOptions>
  ): AsyncIterableIterator<Chunk<ToolData<Tools, Name, T>>>;
  /**
   * @internal The bridge server passes its clients' arguments on as they encoded them; the HTTP handler learns
   * when the call gets a worker.
   */
  iterate(
    tool: string,
    args: EncodedArguments | ToolArguments | undefined,
    options: InternalCallOptions,
  ): AsyncIterableIterator<Chunk<unknown>>;
  iterate(tool: string, args?: unknown, options: InternalCallOptions = {}): AsyncIterableIterator<Chunk<unknown>> {
    return iterateStream((flow) => this.streamWithFlow<unknown>(tool, args, options, flow));
  }

  /** Runs a unary tool and resolves with its result (`R` declares it for a pool without `Tools`). */
  execute<R = unknown, Name extends UnaryToolName<Tools> = UnaryToolName<Tools>>(
    tool: Name,
    ...rest: ToolCallParameters<Tools, Name, CallOptions>
  ): Promise<ToolResult<Tools, Name, R>>;
  /** @internal The bridge server passes its clients' arguments on as they encoded them. */
  execute(tool: string, args: EncodedArguments | undefined, options: CallOptions): Promise<unknown>;
  execute(tool: string, args?: unknown, options: CallOptions = {}): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const request = this.request(tool, args, options, reject);
      if (request === undefined) return;
      const scope = new CallScope(this.registry, request.call_id, tool, options, reject, 'execute');
      scope.run((worker, traceHeaders) => {
        const call = new UnaryCall<unknown>(
          worker,
          request,
          {
            resolve: (result, bytes) => {
              scope.countBytes(bytes);
              scope.complete();
              resolve(result);
            },
            reject: (error, notRun) => {
              if (notRun !== undefined && scope.retry(error, notRun)) return;
              scope.fail(error);
              reject(error);
            },
          },
          this.headers(traceHeaders, options),
          this.hostToolRelay(request, options),
        );
        call.start();
        return call;
      });
    });
  }

  /**
   * Stops every worker, gracefully then by force. New calls are refused with
   * `pool_closed`, and so are calls still waiting for a worker; running calls
   * fail with it too, at once or, with `drain`, once `drainTimeout` has
   * passed without them finishing. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    for (const name of ['drainTimeout', 'gracePeriod'] as const) {
      const ms = options[name];
      if (ms !== undefined && !(typeof ms === 'number' && ms >= 0 && ms <= MAX_TIMER_MS)) {
        return Promise.reject(
          new SnakepitError('invalid_arguments', `close: \`${name}\` must be a number of ms from 0 to ${MAX_TIMER_MS}, got ${String(ms)}`),
        );
      }
    }
    this.closing ??= this.shutDown(options);
    return this.closing;
  }

  private async shutDown(options: CloseOptions): Promise<void> {
    const closed = () => new SnakepitError('pool_closed', 'the pool was closed');
    this.registry.abort('waiting', closed);
    if (options.drain) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT_MS)));
      await Promise.race([this.registry.idle(), deadline]);
      clearTimeout(timer);
    }
    this.registry.abort('all', closed);
    this.discovery?.stop();
    await this.workers.close(options.gracePeriod ?? DEFAULT_CLOSE_GRACE_MS);
    this.telemetry.close();
    this.releaseTransport();
    this.events.complete();
  }

  private streamWithFlow<T>(
    tool: string,
    args: unknown,
    options: InternalCallOptions,
    flow: FlowControl | undefined,
  ): Observable<Chunk<T>> {
    return new Observable<Chunk<T>>((subscriber) => {
      const fail = (error: unknown) => subscriber.error(error);
      const request = this.request(tool, args, options, fail);
      if (request === undefined) return;
      const scope = new CallScope(this.registry, request.call_id, tool, options, fail, 'stream');
      scope.run((worker, traceHeaders) => {
        const call = new StreamCall<T>(
          worker,
          request,
          {
            next: (chunk) => {
              scope.countChunk(chunk.isFinal);
              subscriber.next(chunk);
            },
            received: (bytes) => scope.countBytes(bytes),
            error: (error, notRun) => {
              if (notRun !== undefined && scope.retry(error, notRun)) return;
              scope.fail(error);
              subscriber.error(error);
            },
            complete: () => {
              scope.complete();
              subscriber.complete();
            },
            workerDone: () => scope.releaseWorker(),
          },
          this.headers(traceHeaders, options),
          this.hostToolRelay(request, options),
        );
        flow?.attach(call);
        call.start();
        return call;
      });
      return () => scope.dispose();
    });
  }

  /** What runs a call's host tools, when the pool has some. */
  private hostToolRelay(request: InstanceType<typeof pb.ExecuteToolRequest>, options: CallOptions): HostToolRelay | undefined {
    return this.hostTools === undefined
      ? undefined
      : new HostToolRelay(
          this.hostTools,
          { callId: request.call_id, sessionId: options.sessionId },
          this.limits.maxArgumentDepth,
          this.maxMessageBytes,
        );
  }

  /**
   * The call's gRPC metadata: its trace context and, for a strict session, the entry that asks an endpoint
   * of several processes to wait for the session's process.
   */
  private headers(traceHeaders: Readonly<Record<string, string>>, options: CallOptions): Readonly<Record<string, string>> {
    const strict = options.sessionId !== undefined && (options.sessionAffinity ?? this.sessionAffinity) === 'strict';
    return strict ? { ...traceHeaders, [SESSION_AFFINITY_METADATA_KEY]: 'strict' } : traceHeaders;
  }

  /** The request for a call, or undefined after reporting why there cannot be one. */
  private request(
    tool: string,
    args: unknown,
    options: CallOptions,
    fail: (error: unknown) => void,
  ): InstanceType<typeof pb.ExecuteToolRequest> | undefined {
    if (this.closing !== undefined) {
      fail(new SnakepitError('pool_closed', 'the pool is closed'));
      return undefined;
    }
    // Plain JavaScript may pass anything here: null would fail as a TypeError below, and a string or a number
    // would run the call with none of the options meant.
    if (typeof options !== 'object' || options === null) {
      fail(
        new SnakepitError('invalid_arguments', `options must be an object, got ${options === null ? 'null' : typeof options}`, { tool }),
      );
      return undefined;
    }
    try {
      checkId('tool name', tool, this.limits.maxIdLength, true);
      if (options.sessionId !== undefined) checkId('sessionId', options.sessionId, this.limits.maxIdLength, true);
      const encoded = encodeArguments(args, this.limits);
      return new pb.ExecuteToolRequest({
        tool_name: tool,
        arguments: encoded.json,
        attachments: encoded.attachments,
        session_id: options.sessionId ?? '',
        call_id: `${this.poolId}-${++this.callCount}`,
      });
    } catch (error) {
      fail(error);
      return undefined;
    }
  }
}

/** How a pool gets the worker of a member, and frees what its workers shared once they are all stopped. */
interface WorkerSource {
  /** Starts a member's worker; `signal` aborts when the pool closes, and a start under way gives up. */
  readonly start: (member: string, signal: AbortSignal) => Promise<Worker>;
  readonly release: () => void;
}

/** Child processes on this host, each with the pool's random token, on Unix sockets in the pool's private directory or on loopback ports. */
function localWorkers(options: PoolOptions, resolved: ResolvedPoolOptions, emit: (event: PoolEventInit) => void): WorkerSource {
  const python = resolvePython(options.python);
  const token = randomBytes(24).toString('base64url');
  const sockets = resolved.transport === 'unix' ? SocketDirectory.create() : undefined;
  let workerCount = 0;
  const start = (_member: string, signal: AbortSignal) => {
    const id = `worker-${++workerCount}`;
    return WorkerProcess.start({
      id,
      signal,
      python,
      adapter: options.adapter,
      pythonPath: resolved.pythonPath,
      cwd: options.cwd,
      env: options.env ?? {},
      token,
      maxMessageBytes: resolved.maxMessageBytes,
      socketPath: sockets?.socketPath(id),
      startTimeoutMs: resolved.startTimeoutMs,
      logLevel: resolved.logLevel,
      onLog: (line, workerId, record) => {
        if (record !== undefined) emit({ type: 'log', ...record });
        resolved.onLog(line, workerId, record);
      },
    });
  };
  return { start, release: () => sockets?.remove() };
}

/** Servers something else started: a member is an endpoint, `host:port`. */
function remoteWorkers(options: PoolOptions, resolved: ResolvedPoolOptions): WorkerSource {
  const { tls } = options;
  const channelCredentials = tls === undefined ? undefined : credentialsOf(tls);
  const start = (endpoint: string, signal: AbortSignal) =>
    RemoteWorker.connect({
      endpoint,
      signal,
      adapter: options.adapter,
      token: options.token,
      credentials: channelCredentials,
      channelOptions: tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
      tls,
      maxMessageBytes: resolved.maxMessageBytes,
      connectTimeoutMs: resolved.startTimeoutMs,
    });
  return { start, release: () => undefined };
}

function credentialsOf(tls: TlsOptions): ChannelCredentials {
  const pem = (value: string | Buffer | undefined) => (value === undefined ? null : Buffer.from(value));
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/**
 * Starts a pool of Python workers for an adapter; resolves once every worker is ready.
 *
 * `Tools` describes the adapter's tools, as `npx snakepit-rx types <module.Class>`
 * generates it (`createPool<MyAdapterTools>(...)`): calls are then checked
 * against it at compile time. Without it, calls take any tool name and arguments.
 */
export function createPool<Tools extends ToolsShape<Tools> = UntypedTools>(options: PoolOptions): Promise<SnakepitPool<Tools>> {
  return SnakepitPool.create<Tools>(options);
}

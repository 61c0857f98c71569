import {
  status as Status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  decodeMessage,
  pb,
  type ChunkBatch,
  type ExecuteToolResponse,
  type PingResponse,
  type ToolChunk,
} from '../contract/bridge-connection.js';
import { MalformedMessage, type WireMessageName } from '../contract/wire-bounds.js';
import { SnakepitError } from '../errors.js';
import type { Subscription } from 'rxjs';
import type { BridgeClientCall, CallOptions, ToolInfo } from '../public-types.js';
import { FairQueue, type Admission } from './fair-queue.js';
import type { SnakepitPool } from '../snakepit-pool.js';
import type { TokenCheck } from './token-check.js';
import { timeoutFor, toPooledRequest, type PooledRequest } from './pooled-request.js';
import { errorStatus } from '../contract/status-for-error.js';
import { toExecuteToolResponse } from './payload-encoding.js';
import { PooledStream } from './pooled-stream.js';
import { failStream, writeBatches, writeChunks } from './stream-writer.js';
import { stringifyJson } from '../json-text.js';
import { withIncomingTrace } from '../telemetry/incoming-trace.js';

/** Requests arrive undecoded (see service-definition.ts): the token is checked first. */
type UnaryCall = ServerUnaryCall<Buffer, unknown>;
type StreamCall<T> = ServerWritableStream<Buffer, T>;
type AnyCall = UnaryCall | StreamCall<unknown>;
type Request<Name extends WireMessageName> = InstanceType<(typeof pb)[Name]>;

/** A request decoded with its lengths checked; a malformed one is the client's error. */
function decodeRequest<Name extends WireMessageName>(name: Name, bytes: Buffer): Request<Name> {
  try {
    return decodeMessage(name, bytes);
  } catch (error) {
    if (!(error instanceof MalformedMessage)) throw error;
    throw new SnakepitError('invalid_arguments', `malformed ${name}: ${error.message}`, {
      hint: 'encode the request with stubs generated from proto/bridge.proto',
    });
  }
}

export interface BridgeServiceConfig {
  readonly pool: SnakepitPool;
  readonly id: string;
  readonly tokenCheck: TokenCheck | undefined;
  /** The longest a pooled call may run, in ms, whatever deadline its client set (`Infinity`: the client's deadline alone). */
  readonly callTimeout: number;
  /** Who a call is from; default: its peer address. */
  readonly clientId: ((call: BridgeClientCall) => string) | undefined;
  /** Undefined: the pool's size, as it changes (with `discover`, as endpoints come and go). */
  readonly perClientConcurrency: number | undefined;
  readonly perClientQueue: number;
  readonly maxWaitingBytes: number;
}

function toToolSpec(tool: ToolInfo): InstanceType<typeof pb.ToolSpec> {
  return new pb.ToolSpec({
    name: tool.name,
    description: tool.description,
    supports_streaming: tool.supportsStreaming,
    parameters: tool.parameters.map(
      (parameter) =>
        new pb.ParameterSpec({
          name: parameter.name,
          type: parameter.type,
          required: parameter.required,
          default_json: 'default' in parameter ? stringifyJson(parameter.default) : '',
        }),
    ),
    parameters_schema_json: JSON.stringify(tool.parametersSchema),
    result_schema_json: JSON.stringify(tool.resultSchema),
  });
}

/**
 * BridgeService for outside clients, served from a pool: each tool call
 * runs as a pooled call, and ends with it. Tracks the calls in flight, so
 * that closing the server cancels their pooled calls.
 */
export class BridgeService {
  private readonly inFlight = new Set<() => void>();
  private readonly queue: FairQueue;
  private readonly poolEvents: Subscription;

  constructor(private readonly config: BridgeServiceConfig) {
    const { pool } = config;
    this.queue = new FairQueue({
      perClientConcurrency: () => config.perClientConcurrency ?? Math.max(1, pool.size),
      perClientQueue: config.perClientQueue,
      maxWaitingBytes: config.maxWaitingBytes,
      // A call may go to the pool when it would not queue there behind others (see FairQueue).
      poolHasRoom: () => {
        const { queued, idle } = pool.stats();
        return queued === 0 || idle > 0;
      },
    });
    // The pool may have room again once a call waiting there got its worker, or a worker (re)started.
    this.poolEvents = pool.events$.subscribe((event) => {
      if (event.type === 'call_started' || event.type === 'worker_started' || event.type === 'call_finished') this.queue.dispatch();
    });
  }

  /** Cancels every pooled call the server runs, and withdraws the calls still waiting for their turn. */
  cancelAll(): void {
    this.stopWatchingPool();
    for (const cancel of [...this.inFlight]) cancel();
  }

  /** The server has stopped: the pool, which outlives it, no longer reports to it. */
  stopWatchingPool(): void {
    this.poolEvents.unsubscribe();
  }

  implementation(): UntypedServiceImplementation {
    return {
      Ping: (call: UnaryCall, callback: sendUnaryData<PingResponse>) => {
        const request = this.admit(call, 'PingRequest', (error) => callback(errorStatus(error)));
        if (request === undefined) return;
        // Its capacity is its pool's: a pool may use a bridge server as an endpoint.
        const capacity = this.config.pool.size;
        callback(null, new pb.PingResponse({ message: request.message || 'pong', worker_id: this.config.id, pid: process.pid, capacity }));
      },
      ListTools: (call: UnaryCall, callback: sendUnaryData<InstanceType<typeof pb.ListToolsResponse>>) => {
        if (this.admit(call, 'ListToolsRequest', (error) => callback(errorStatus(error))) === undefined) return;
        callback(null, new pb.ListToolsResponse({ adapter: this.config.pool.adapter, tools: this.config.pool.tools().map(toToolSpec) }));
      },
      // A client's trace context (traceparent metadata) is the parent of the pooled call's span.
      ExecuteTool: (call: UnaryCall, callback: sendUnaryData<ExecuteToolResponse>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.executeTool(call, callback)),
      ExecuteStreamingTool: (call: StreamCall<ToolChunk>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.stream(call, writeChunks)),
      ExecuteStreamingToolBatched: (call: StreamCall<ChunkBatch>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.stream(call, writeBatches)),
      ExecuteToolWithHostTools: (call: ServerDuplexStream<Buffer, unknown>) => this.refuseHostTools(call),
      ExecuteStreamingToolWithHostTools: (call: ServerDuplexStream<Buffer, unknown>) => this.refuseHostTools(call),
      AwaitCall: (call: UnaryCall, callback: sendUnaryData<never>) => {
        if (this.admit(call, 'AwaitCallRequest', (error) => callback(errorStatus(error))) === undefined) return;
        callback({
          code: Status.UNIMPLEMENTED,
          details:
            'AwaitCall is for pools talking to their workers (hint: the bridge server cancels the pooled call itself when ' +
            'your call ends, and its pool replaces a worker whose tool does not stop)',
        });
      },
    };
  }

  /**
   * The ...WithHostTools methods are for a pool talking to its workers: the
   * bridge server's own pool runs its host tools (if it has any) for every
   * call it relays, and a client's functions cannot be called from here.
   * Nothing the client sends on them is decoded.
   */
  private refuseHostTools(call: ServerDuplexStream<Buffer, unknown>): void {
    try {
      this.config.tokenCheck?.require(call.metadata);
    } catch (error) {
      call.emit('error', errorStatus(error));
      return;
    }
    call.emit('error', {
      code: Status.UNIMPLEMENTED,
      details:
        'the bridge server does not relay host tools (hint: call ExecuteTool or ExecuteStreamingToolBatched; tools may call the ' +
        "host tools of the bridge server's own pool)",
    });
  }

  /**
   * The request of a call that carries the token, decoded only then; else
   * undefined after refusing the call (unauthenticated, or malformed).
   */
  private admit<Name extends WireMessageName>(call: AnyCall, name: Name, refuse: (error: unknown) => void): Request<Name> | undefined {
    try {
      this.config.tokenCheck?.require(call.metadata);
      return decodeRequest(name, call.request);
    } catch (error) {
      refuse(error);
      return undefined;
    }
  }

  /** The pool call for a request, or undefined after refusing it. */
  private prepare(call: AnyCall, streaming: boolean, refuse: (error: unknown) => void): PooledRequest | undefined {
    const request = this.admit(call, 'ExecuteToolRequest', refuse);
    if (request === undefined) return undefined;
    const { pool } = this.config;
    try {
      return toPooledRequest(request, { tools: pool.tools(), limits: pool.limits, streaming });
    } catch (error) {
      refuse(error);
      return undefined;
    }
  }

  /**
   * Runs a call once its client's turn comes (see FairQueue), and ties it to
   * the client's call: it is withdrawn, or cancelled once running, when the
   * client cancels or its deadline passes (grpc-js reports both as
   * 'cancelled'), or when the server closes.
   */
  private schedule(call: AnyCall, refuse: (error: unknown) => void, run: (timeout: number) => RunningCall): void {
    if (call.cancelled) return;
    let running: RunningCall | undefined;
    let admission: Admission | undefined;
    const untrack = () => {
      this.inFlight.delete(cancel);
      call.off('cancelled', cancel);
    };
    // A call withdrawn before its turn never runs, so nothing else would forget it (and its request).
    const cancel = () => {
      if (running !== undefined) return running.cancel();
      admission?.withdraw();
      untrack();
    };
    this.inFlight.add(cancel);
    call.once('cancelled', cancel);
    try {
      const client = this.config.clientId?.(call) ?? call.getPeer();
      admission = this.queue.admit(client, call.request.length, (done) => {
        const finish = () => {
          untrack();
          done();
        };
        let timeout: number;
        try {
          timeout = timeoutFor(call.getDeadline(), this.config.callTimeout);
        } catch (error) {
          refuse(error);
          finish();
          return;
        }
        running = run(timeout);
        void running.ended.finally(finish);
      });
    } catch (error) {
      untrack();
      refuse(error);
    }
  }

  private executeTool(call: UnaryCall, callback: sendUnaryData<ExecuteToolResponse>): void {
    const refuse = (error: unknown) => callback(errorStatus(error));
    const request = this.prepare(call, false, refuse);
    if (request === undefined) return;
    this.schedule(call, refuse, (timeout) => {
      // pool.execute() can only be cancelled through a signal.
      const controller = new AbortController();
      const ended = this.config.pool
        .execute(request.tool, request.args, { ...callOptions(request, timeout), signal: controller.signal })
        .then(
          (result) => callback(null, toExecuteToolResponse(result)),
          (error: unknown) => callback(errorStatus(error)),
        );
      return { ended, cancel: () => controller.abort() };
    });
  }

  private stream<T>(call: StreamCall<T>, write: (call: StreamCall<T>, source: PooledStream, callId: string) => Promise<void>): void {
    const refuse = (error: unknown) => failStream(call, error);
    const request = this.prepare(call, true, refuse);
    if (request === undefined) return;
    this.schedule(call, refuse, (timeout) => {
      // Pull-based, so that a client reading slowly holds back the worker instead of filling memory here.
      const source = new PooledStream(this.config.pool.iterate(request.tool, request.args, callOptions(request, timeout)));
      const ended = write(call, source, request.callId).catch((error: unknown) => {
        source.cancel();
        failStream(call, error);
      });
      return { ended, cancel: () => source.cancel() };
    });
  }
}

/** A pool call the server runs for a client: it settles `ended` however it ends. */
interface RunningCall {
  readonly ended: Promise<unknown>;
  cancel(): void;
}

function callOptions(request: PooledRequest, timeout: number): CallOptions {
  return { timeout, ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }) };
}

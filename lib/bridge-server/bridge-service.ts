import {
  status as Status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  pb,
  type ChunkBatch,
  type ExecuteToolRequest,
  type ExecuteToolResponse,
  type PingResponse,
  type ToolChunk,
} from '../contract/bridge-connection.js';
import type { ToolInfo } from '../public-types.js';
import type { SnakepitPool } from '../snakepit-pool.js';
import type { TokenCheck } from './token-check.js';
import { toPooledRequest, type PooledRequest } from './pooled-request.js';
import { errorStatus } from '../contract/status-for-error.js';
import { toExecuteToolResponse } from './payload-encoding.js';
import { PooledStream } from './pooled-stream.js';
import { failStream, writeBatches, writeChunks } from './stream-writer.js';
import { withIncomingTrace } from '../telemetry/incoming-trace.js';

type AnyCall = ServerUnaryCall<ExecuteToolRequest, unknown> | ServerWritableStream<ExecuteToolRequest, unknown>;

export interface BridgeServiceConfig {
  readonly pool: SnakepitPool;
  readonly id: string;
  readonly tokenCheck: TokenCheck | undefined;
  /** The pool call's timeout when the client set no deadline; undefined: the pool's default. */
  readonly callTimeout: number | undefined;
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
          default_json: 'default' in parameter ? JSON.stringify(parameter.default) : '',
        }),
    ),
  });
}

/**
 * BridgeService for outside clients, served from a pool: each tool call
 * runs as a pooled call, and ends with it. Tracks the calls in flight, so
 * that closing the server cancels their pooled calls.
 */
export class BridgeService {
  private readonly inFlight = new Set<() => void>();

  constructor(private readonly config: BridgeServiceConfig) {}

  /** Cancels every pooled call the server runs. */
  cancelAll(): void {
    for (const cancel of [...this.inFlight]) cancel();
  }

  implementation(): UntypedServiceImplementation {
    return {
      Ping: (call: ServerUnaryCall<InstanceType<typeof pb.PingRequest>, unknown>, callback: sendUnaryData<PingResponse>) => {
        if (!this.admits(call, callback)) return;
        callback(null, new pb.PingResponse({ message: call.request.message || 'pong', worker_id: this.config.id, pid: process.pid }));
      },
      ListTools: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<InstanceType<typeof pb.ListToolsResponse>>) => {
        if (!this.admits(call, callback)) return;
        callback(null, new pb.ListToolsResponse({ adapter: this.config.pool.adapter, tools: this.config.pool.tools().map(toToolSpec) }));
      },
      // A client's trace context (traceparent metadata) is the parent of the pooled call's span.
      ExecuteTool: (call: ServerUnaryCall<ExecuteToolRequest, unknown>, callback: sendUnaryData<ExecuteToolResponse>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.executeTool(call, callback)),
      ExecuteStreamingTool: (call: ServerWritableStream<ExecuteToolRequest, ToolChunk>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.stream(call, writeChunks)),
      ExecuteStreamingToolBatched: (call: ServerWritableStream<ExecuteToolRequest, ChunkBatch>) =>
        withIncomingTrace(call.metadata.getMap(), () => this.stream(call, writeBatches)),
      AwaitCall: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<never>) => {
        if (!this.admits(call, callback)) return;
        callback({
          code: Status.UNIMPLEMENTED,
          details:
            'AwaitCall is for pools talking to their workers (hint: the bridge server cancels the pooled call itself when ' +
            'your call ends, and its pool replaces a worker whose tool does not stop)',
        });
      },
    };
  }

  /** Whether the call carries the token; if not, answers it as unauthenticated. */
  private admits(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<never>): boolean {
    try {
      this.config.tokenCheck?.require(call.metadata);
      return true;
    } catch (error) {
      callback(errorStatus(error));
      return false;
    }
  }

  /** The pool call for a request, or undefined after refusing it. */
  private prepare(call: AnyCall, streaming: boolean, refuse: (error: unknown) => void): PooledRequest | undefined {
    const { tokenCheck, pool, callTimeout } = this.config;
    try {
      tokenCheck?.require(call.metadata);
      return toPooledRequest(call.request, { tools: pool.tools(), streaming, deadline: call.getDeadline(), fallbackTimeout: callTimeout });
    } catch (error) {
      refuse(error);
      return undefined;
    }
  }

  /**
   * Ties a pooled call to the client's call: cancelled when the client
   * cancels or its deadline passes (grpc-js reports both as 'cancelled'), or
   * when the server closes. Returns the function that unties them.
   */
  private track(call: AnyCall, cancel: () => void): () => void {
    this.inFlight.add(cancel);
    call.once('cancelled', cancel);
    if (call.cancelled) cancel();
    return () => {
      this.inFlight.delete(cancel);
      call.off('cancelled', cancel);
    };
  }

  private executeTool(call: ServerUnaryCall<ExecuteToolRequest, unknown>, callback: sendUnaryData<ExecuteToolResponse>): void {
    const request = this.prepare(call, false, (error) => callback(errorStatus(error)));
    if (request === undefined) return;
    // pool.execute() can only be cancelled through a signal.
    const controller = new AbortController();
    const untrack = this.track(call, () => controller.abort());
    this.config.pool
      .execute(request.tool, request.args, { ...request.options, signal: controller.signal })
      .then(
        (result) => callback(null, toExecuteToolResponse(result)),
        (error: unknown) => callback(errorStatus(error)),
      )
      .finally(untrack);
  }

  private stream<T>(
    call: ServerWritableStream<ExecuteToolRequest, T>,
    write: (call: ServerWritableStream<ExecuteToolRequest, T>, source: PooledStream) => Promise<void>,
  ): void {
    const request = this.prepare(call, true, (error) => failStream(call, error));
    if (request === undefined) return;
    // Pull-based, so that a client reading slowly holds back the worker instead of filling memory here.
    const source = new PooledStream(this.config.pool.iterate(request.tool, request.args, request.options));
    const untrack = this.track(call, () => source.cancel());
    write(call, source)
      .catch((error: unknown) => {
        source.cancel();
        failStream(call, error);
      })
      .finally(untrack);
  }
}

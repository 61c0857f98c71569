import {
  status as Status,
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { pb, type ExecuteToolRequest } from '../contract/bridge-client.js';
import { SnakepitError } from '../errors.js';
import type { SnakepitPool, ToolInfo } from '../snakepit-pool.js';
import type { TokenCheck } from './auth.js';
import { toPooledRequest, type PooledRequest } from './call-request.js';
import { errorStatus } from './error-status.js';
import { toExecuteToolResponse } from './payload-encoding.js';
import { PooledStream } from './pooled-stream.js';
import { failStream, writeBatches, writeChunks } from './stream-writer.js';

type Req<T extends abstract new (...args: never) => unknown> = InstanceType<T>;

export interface BridgeServiceConfig {
  readonly pool: SnakepitPool;
  readonly id: string;
  readonly tokenCheck: TokenCheck | undefined;
  /** The pool call's timeout when the client set no deadline; undefined: the pool's default. */
  readonly callTimeout: number | undefined;
}

function unauthenticated(): SnakepitError {
  return new SnakepitError('unauthenticated', 'missing or wrong token', {
    hint: 'send the metadata entry `authorization: Bearer <token>`',
  });
}

function toToolSpec(tool: ToolInfo): Req<typeof pb.ToolSpec> {
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
      Ping: (call: ServerUnaryCall<Req<typeof pb.PingRequest>, unknown>, callback: sendUnaryData<Req<typeof pb.PingResponse>>) => {
        if (!this.admits(call.metadata, callback)) return;
        callback(null, new pb.PingResponse({ message: call.request.message || 'pong', worker_id: this.config.id, pid: process.pid }));
      },
      ListTools: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<Req<typeof pb.ListToolsResponse>>) => {
        if (!this.admits(call.metadata, callback)) return;
        callback(null, new pb.ListToolsResponse({ adapter: this.config.pool.adapter, tools: this.config.pool.tools().map(toToolSpec) }));
      },
      ExecuteTool: (call: ServerUnaryCall<ExecuteToolRequest, unknown>, callback: sendUnaryData<Req<typeof pb.ExecuteToolResponse>>) =>
        this.executeTool(call, callback),
      ExecuteStreamingTool: (call: ServerWritableStream<ExecuteToolRequest, Req<typeof pb.ToolChunk>>) =>
        this.stream(call, writeChunks),
      ExecuteStreamingToolBatched: (call: ServerWritableStream<ExecuteToolRequest, Req<typeof pb.ChunkBatch>>) =>
        this.stream(call, writeBatches),
      AwaitCall: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<never>) => {
        if (!this.admits(call.metadata, callback)) return;
        callback({
          code: Status.UNIMPLEMENTED,
          details:
            'AwaitCall is for pools talking to their workers (hint: the bridge server cancels the pooled call itself when ' +
            'your call ends, and its pool replaces a worker whose tool does not stop)',
        });
      },
    };
  }

  private admits(metadata: Metadata, callback: sendUnaryData<never>): boolean {
    const { tokenCheck } = this.config;
    if (tokenCheck === undefined || tokenCheck.admits(metadata)) return true;
    callback(errorStatus(unauthenticated()));
    return false;
  }

  /** The pool call for a request, or undefined after refusing it. */
  private prepare(
    call: ServerUnaryCall<ExecuteToolRequest, unknown> | ServerWritableStream<ExecuteToolRequest, unknown>,
    streaming: boolean,
    refuse: (error: unknown) => void,
  ): PooledRequest | undefined {
    const { tokenCheck, pool, callTimeout } = this.config;
    try {
      if (tokenCheck !== undefined && !tokenCheck.admits(call.metadata)) throw unauthenticated();
      return toPooledRequest(call.request, { tools: pool.tools(), streaming, deadline: call.getDeadline(), fallbackTimeout: callTimeout });
    } catch (error) {
      refuse(error);
      return undefined;
    }
  }

  private executeTool(
    call: ServerUnaryCall<ExecuteToolRequest, unknown>,
    callback: sendUnaryData<Req<typeof pb.ExecuteToolResponse>>,
  ): void {
    const request = this.prepare(call, false, (error) => callback(errorStatus(error)));
    if (request === undefined) return;
    // pool.execute() can only be cancelled through a signal.
    const controller = new AbortController();
    const cancel = () => controller.abort();
    this.inFlight.add(cancel);
    call.once('cancelled', cancel);
    this.config.pool
      .execute(request.tool, request.args, { ...request.options, signal: controller.signal })
      .then(
        (result) => callback(null, toExecuteToolResponse(result)),
        (error: unknown) => callback(errorStatus(error)),
      )
      .finally(() => this.inFlight.delete(cancel));
  }

  private stream<T>(
    call: ServerWritableStream<ExecuteToolRequest, T>,
    write: (call: ServerWritableStream<ExecuteToolRequest, T>, source: PooledStream) => Promise<void>,
  ): void {
    const request = this.prepare(call, true, (error) => failStream(call, error));
    if (request === undefined) return;
    // Pull-based, so that a client reading slowly holds back the worker instead of filling memory here.
    const source = new PooledStream(this.config.pool.iterate(request.tool, request.args, request.options));
    const cancel = () => source.cancel();
    this.inFlight.add(cancel);
    // grpc-js also says 'cancelled' when the deadline passes.
    call.once('cancelled', cancel);
    if (call.cancelled) cancel();
    write(call, source)
      .catch((error: unknown) => {
        source.cancel();
        failStream(call, error);
      })
      .finally(() => this.inFlight.delete(cancel));
  }
}

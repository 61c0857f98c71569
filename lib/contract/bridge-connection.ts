import * as grpc from '@grpc/grpc-js';
import { snakepit_rx } from '../../generated/bridge.js';
import { SilentSocketReaping } from './silent-socket-reaping.js';
import { checkWireBounds, WIRE_SCHEMAS, type WireMessageName } from './wire-bounds.js';

export const pb = snakepit_rx.bridge.v1;
export type ChunkBatch = snakepit_rx.bridge.v1.ChunkBatch;
export type ToolChunk = snakepit_rx.bridge.v1.ToolChunk;
export type ExecuteToolRequest = snakepit_rx.bridge.v1.ExecuteToolRequest;
export type ExecuteToolResponse = snakepit_rx.bridge.v1.ExecuteToolResponse;
export type ToolSpecMessage = snakepit_rx.bridge.v1.ToolSpec;
export type PingResponse = snakepit_rx.bridge.v1.PingResponse;
export type Encoding = snakepit_rx.bridge.v1.Encoding;
export type HostMessage = snakepit_rx.bridge.v1.HostMessage;
export type ToolMessage = snakepit_rx.bridge.v1.ToolMessage;
export type HostToolCall = snakepit_rx.bridge.v1.HostToolCall;

/** A method of BridgeService. */
export type BridgeMethod = keyof typeof pb.UnimplementedBridgeServiceService.definition;

/** The gRPC path of a BridgeService method, as the code generated from proto/bridge.proto has it. */
export function methodPath(method: BridgeMethod): string {
  return pb.UnimplementedBridgeServiceService.definition[method].path;
}

/** The contract's fully qualified service name, `snakepit_rx.bridge.v1.BridgeService`, from the generated paths. */
export const SERVICE_NAME = methodPath('Ping').split('/')[1] ?? '';

export interface ConnectionOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string | undefined;
  readonly credentials?: grpc.ChannelCredentials | undefined;
  readonly maxMessageBytes: number;
  /** Extra channel options, such as `grpc.ssl_target_name_override`. */
  readonly channelOptions?: Readonly<Record<string, string | number>> | undefined;
}

/** A message's bytes as a Buffer, without the copy `Buffer.from(bytes)` would make. */
export function serialize(message: { serialize(): Uint8Array }): Buffer {
  const bytes = message.serialize();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a message of the contract once its wire format is checked, so that
 * no length in it can send google-protobuf past the buffer (see
 * wire-bounds.ts). Throws a `MalformedMessage` otherwise.
 */
export function decodeMessage<Name extends WireMessageName>(name: Name, bytes: Uint8Array): InstanceType<(typeof pb)[Name]> {
  checkWireBounds(bytes, WIRE_SCHEMAS[name]);
  return pb[name].deserialize(bytes) as InstanceType<(typeof pb)[Name]>;
}

/**
 * The metadata entry with which a call of a strict session (`sessionAffinity: 'strict'`) asks an endpoint
 * of `serve --workers N` to wait for the process that served its session, rather than take another.
 */
export const SESSION_AFFINITY_METADATA_KEY = 'snakepit-session-affinity';

/** What the pool and its calls use of a connection to a worker: the seam where specs put a fake. */
export interface BridgeClient {
  ping(deadline: Date): Promise<PingResponse>;
  /** The adapter the server serves (as `module.Class`) and its tools. */
  listTools(deadline: Date): Promise<{ adapter: string; tools: ToolSpecMessage[] }>;
  /** Whether the call ended on the server within `timeoutMs` (its tool returned, raised or was closed). */
  awaitCall(callId: string, timeoutMs: number): Promise<boolean>;
  /**
   * `headers`: metadata of this call besides the token: its trace context and, for a strict session,
   * `SESSION_AFFINITY_METADATA_KEY` (the call waits for its session's process of a multi-process endpoint).
   */
  executeTool(
    request: ExecuteToolRequest,
    headers: Readonly<Record<string, string>>,
    callback: (error: grpc.ServiceError | null, response?: ExecuteToolResponse) => void,
  ): grpc.ClientUnaryCall;
  streamBatches(request: ExecuteToolRequest, headers: Readonly<Record<string, string>>): grpc.ClientReadableStream<ChunkBatch>;
  /**
   * A call on a stream both ways (`ExecuteToolWithHostTools`, `ExecuteStreamingToolWithHostTools`),
   * for a pool with host tools: the request is sent first; the tool's host-tool calls come
   * among its output, and their answers go back on the same stream.
   */
  callWithHostTools(
    request: ExecuteToolRequest,
    streaming: boolean,
    headers: Readonly<Record<string, string>>,
  ): grpc.ClientDuplexStream<HostMessage, ToolMessage>;
}

/**
 * A typed client of one BridgeService endpoint.
 *
 * Responses are decoded straight from the buffer grpc-js hands over: the
 * generated client copies it first, which costs a full copy of every binary
 * chunk.
 */
export class BridgeConnection implements BridgeClient {
  private readonly client: grpc.Client;
  private readonly token: string | undefined;

  constructor(
    readonly address: string,
    options: ConnectionOptions,
  ) {
    this.token = options.token;
    this.client = new grpc.Client(address, new SilentSocketReaping(options.credentials ?? grpc.credentials.createInsecure()), {
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      // The default 64 KiB window caps large chunks at a few hundred MB/s.
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
      // Each connection has its own subchannel, so that closing one worker's connection leaves the others alone.
      'grpc.use_local_subchannel_pool': 1,
      ...options.channelOptions,
    });
  }

  /**
   * Resolves once the channel is connected, so that the first call does not pay for the handshake.
   * `explain` hears why each failed attempt failed, and ends the wait with the error it returns: grpc-js
   * retries until the deadline whatever the failure, and tells it only to a call.
   */
  connect(deadline: Date, explain?: (lastError: string) => Promise<Error | undefined>): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      this.client.waitForReady(deadline, (error) => {
        settled = true;
        if (error) reject(error);
        else resolve();
      });
      if (explain === undefined) return;
      const channel = this.client.getChannel();
      const watch = (state: grpc.connectivityState): void => {
        if (settled || state === grpc.connectivityState.SHUTDOWN) return;
        if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
          void this.lastConnectionError(deadline)
            .then((lastError) => (lastError === undefined || settled ? undefined : explain(lastError)))
            .then((error) => {
              if (error === undefined || settled) return;
              settled = true;
              reject(error);
            });
        }
        channel.watchConnectivityState(state, deadline, (error) => {
          if (!error) watch(channel.getConnectivityState(false));
        });
      };
      watch(channel.getConnectivityState(false));
    });
  }

  /** What grpc-js says of the last failed connection attempt: a call that does not wait for the channel fails with it. */
  private lastConnectionError(deadline: Date): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        methodPath('Ping'),
        serialize,
        (bytes: Buffer) => bytes,
        new pb.PingRequest(),
        // With the token: should the channel connect meanwhile, this is an ordinary health ping.
        this.metadata(),
        { deadline },
        (error) => resolve(error?.code === grpc.status.UNAVAILABLE ? error.details : undefined),
      );
    });
  }

  ping(deadline: Date): Promise<PingResponse> {
    return this.unary('Ping', new pb.PingRequest(), (bytes) => decodeMessage('PingResponse', bytes), deadline);
  }

  listTools(deadline: Date): Promise<{ adapter: string; tools: ToolSpecMessage[] }> {
    return this.unary('ListTools', new pb.ListToolsRequest(), (bytes) => decodeMessage('ListToolsResponse', bytes), deadline);
  }

  async awaitCall(callId: string, timeoutMs: number): Promise<boolean> {
    const request = new pb.AwaitCallRequest({ call_id: callId, timeout_ms: timeoutMs });
    // The server answers at timeoutMs; the deadline only guards against a server that cannot answer.
    const response = await this.unary(
      'AwaitCall',
      request,
      (bytes) => decodeMessage('AwaitCallResponse', bytes),
      new Date(Date.now() + timeoutMs + 1000),
    );
    return response.ended;
  }

  executeTool(
    request: ExecuteToolRequest,
    headers: Readonly<Record<string, string>>,
    callback: (error: grpc.ServiceError | null, response?: ExecuteToolResponse) => void,
  ): grpc.ClientUnaryCall {
    return this.client.makeUnaryRequest(
      methodPath('ExecuteTool'),
      serialize,
      (bytes: Buffer) => decodeMessage('ExecuteToolResponse', bytes),
      request,
      this.metadata(headers),
      {},
      callback,
    );
  }

  streamBatches(request: ExecuteToolRequest, headers: Readonly<Record<string, string>>): grpc.ClientReadableStream<ChunkBatch> {
    return this.client.makeServerStreamRequest(
      methodPath('ExecuteStreamingToolBatched'),
      serialize,
      (bytes: Buffer) => decodeMessage('ChunkBatch', bytes),
      request,
      this.metadata(headers),
      {},
    );
  }

  callWithHostTools(
    request: ExecuteToolRequest,
    streaming: boolean,
    headers: Readonly<Record<string, string>>,
  ): grpc.ClientDuplexStream<HostMessage, ToolMessage> {
    const call = this.client.makeBidiStreamRequest(
      methodPath(streaming ? 'ExecuteStreamingToolWithHostTools' : 'ExecuteToolWithHostTools'),
      serialize,
      (bytes: Buffer) => decodeMessage('ToolMessage', bytes),
      this.metadata(headers),
      {},
    );
    call.write(new pb.HostMessage({ request }));
    return call;
  }

  close(): void {
    this.client.close();
  }

  private unary<Request extends { serialize(): Uint8Array }, Response>(
    method: BridgeMethod,
    request: Request,
    deserialize: (bytes: Uint8Array) => Response,
    deadline: Date,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        methodPath(method),
        serialize,
        deserialize,
        request,
        this.metadata(),
        { deadline },
        (error, response) => {
          if (error !== null) reject(error);
          else if (response === undefined) reject(new Error(`${method} answered with no message`));
          else resolve(response);
        },
      );
    });
  }

  private metadata(headers?: Readonly<Record<string, string>>): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    if (headers !== undefined) for (const key in headers) metadata.set(key, headers[key]!);
    return metadata;
  }
}

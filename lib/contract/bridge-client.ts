import * as grpc from '@grpc/grpc-js';
import { snakepit } from '../../generated/bridge.js';

export const pb = snakepit.bridge;
export type ChunkBatch = snakepit.bridge.ChunkBatch;
export type ToolChunk = snakepit.bridge.ToolChunk;
export type ExecuteToolRequest = snakepit.bridge.ExecuteToolRequest;
export type ExecuteToolResponse = snakepit.bridge.ExecuteToolResponse;
export type ToolSpecMessage = snakepit.bridge.ToolSpec;
export type PingResponse = snakepit.bridge.PingResponse;

const SERVICE = '/snakepit.bridge.BridgeService/';

export interface ConnectionOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string | undefined;
  readonly credentials?: grpc.ChannelCredentials | undefined;
  readonly maxMessageBytes: number;
  /** Extra channel options, such as `grpc.ssl_target_name_override`. */
  readonly channelOptions?: Readonly<Record<string, string | number>> | undefined;
}

function serialize(message: { serialize(): Uint8Array }): Buffer {
  const bytes = message.serialize();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A typed client of one BridgeService endpoint.
 *
 * Responses are decoded straight from the buffer grpc-js hands over: the
 * generated client copies it first, which costs a full copy of every binary
 * chunk.
 */
export class BridgeConnection {
  private readonly client: grpc.Client;
  private readonly token: string | undefined;

  constructor(readonly address: string, options: ConnectionOptions) {
    this.token = options.token;
    this.client = new grpc.Client(address, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      // The default 64 KiB window caps large chunks at a few hundred MB/s.
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
      // Each connection has its own subchannel, so that closing one worker's connection leaves the others alone.
      'grpc.use_local_subchannel_pool': 1,
      ...options.channelOptions,
    });
  }

  /** Resolves once the channel is connected, so that the first call does not pay for the handshake. */
  connect(deadline: Date): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(deadline, (error) => (error ? reject(error) : resolve()));
    });
  }

  ping(deadline: Date): Promise<PingResponse> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `${SERVICE}Ping`,
        serialize,
        (bytes: Buffer) => pb.PingResponse.deserialize(bytes),
        new pb.PingRequest(),
        this.metadata(),
        { deadline },
        (error, response) => (error || !response ? reject(error) : resolve(response)),
      );
    });
  }

  /** The adapter the server serves (as `module.Class`) and its tools. */
  listTools(deadline: Date): Promise<{ adapter: string; tools: ToolSpecMessage[] }> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `${SERVICE}ListTools`,
        serialize,
        (bytes: Buffer) => pb.ListToolsResponse.deserialize(bytes),
        new pb.ListToolsRequest(),
        this.metadata(),
        { deadline },
        (error, response) => (error || !response ? reject(error) : resolve(response)),
      );
    });
  }

  /** Whether the call ended on the server within `timeoutMs` (its tool returned, raised or was closed). */
  awaitCall(callId: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `${SERVICE}AwaitCall`,
        serialize,
        (bytes: Buffer) => pb.AwaitCallResponse.deserialize(bytes),
        new pb.AwaitCallRequest({ call_id: callId, timeout_ms: timeoutMs }),
        this.metadata(),
        // The server answers at timeoutMs; the deadline only guards against a server that cannot answer.
        { deadline: new Date(Date.now() + timeoutMs + 1000) },
        (error, response) => (error || !response ? reject(error) : resolve(response.ended)),
      );
    });
  }

  executeTool(
    request: ExecuteToolRequest,
    callback: (error: grpc.ServiceError | null, response?: ExecuteToolResponse) => void,
  ): grpc.ClientUnaryCall {
    return this.client.makeUnaryRequest(
      `${SERVICE}ExecuteTool`,
      serialize,
      (bytes: Buffer) => pb.ExecuteToolResponse.deserialize(bytes),
      request,
      this.metadata(),
      {},
      callback,
    );
  }

  streamBatches(request: ExecuteToolRequest): grpc.ClientReadableStream<ChunkBatch> {
    return this.client.makeServerStreamRequest(
      `${SERVICE}ExecuteStreamingToolBatched`,
      serialize,
      (bytes: Buffer) => pb.ChunkBatch.deserialize(bytes),
      request,
      this.metadata(),
      {},
    );
  }

  close(): void {
    this.client.close();
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }
}

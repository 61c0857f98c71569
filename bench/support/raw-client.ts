/**
 * The baseline's client: plain @grpc/grpc-js and the generated message
 * classes, no snakepit-rx code. One gRPC message per chunk, or (the
 * hand-batched baseline) one ChunkBatch of many.
 */
import * as grpc from '@grpc/grpc-js';
import { snakepit_rx } from '../../generated/bridge.js';

const pb = snakepit_rx.bridge.v1;
const methods = pb.UnimplementedBridgeServiceService.definition;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type ToolChunk = snakepit_rx.bridge.v1.ToolChunk;
export type ChunkBatch = snakepit_rx.bridge.v1.ChunkBatch;

/** grpc-js defaults, or "tuned" for large transfers (a 4 MiB flow-control window, 64 MiB messages). */
export type ClientTuning = 'default' | 'tuned';

export function channelOptions(tuning: ClientTuning): grpc.ChannelOptions {
  if (tuning === 'default') return {};
  return {
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  };
}

function serializeRequest(request: snakepit_rx.bridge.v1.ExecuteToolRequest): Buffer {
  const bytes = request.serialize();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** JSON the way snakepit-rx decodes it, so that neither side gets a cheaper parser. */
export function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

export class RawClient {
  private readonly client: grpc.Client;
  private calls = 0;

  constructor(address: string, tuning: ClientTuning) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions(tuning));
  }

  connect(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(new Date(Date.now() + timeoutMs), (error) => (error ? reject(error) : resolve()));
    });
  }

  private request(tool: string, args: unknown): snakepit_rx.bridge.v1.ExecuteToolRequest {
    return new pb.ExecuteToolRequest({
      tool_name: tool,
      arguments: Buffer.from(JSON.stringify(args)),
      call_id: `raw-${++this.calls}`,
    });
  }

  /** Starts a server-streaming call; the caller attaches 'data', 'error' and 'end'. */
  openStream(tool: string, args: unknown): grpc.ClientReadableStream<ToolChunk> {
    return this.client.makeServerStreamRequest(
      methods.ExecuteStreamingTool.path,
      serializeRequest,
      (bytes: Buffer) => pb.ToolChunk.deserialize(bytes),
      this.request(tool, args),
    );
  }

  /** Starts a call of ExecuteStreamingToolBatched, decoded by the generated `deserialize`. */
  openBatchStream(tool: string, args: unknown): grpc.ClientReadableStream<ChunkBatch> {
    return this.client.makeServerStreamRequest(
      methods.ExecuteStreamingToolBatched.path,
      serializeRequest,
      (bytes: Buffer) => pb.ChunkBatch.deserialize(bytes),
      this.request(tool, args),
    );
  }

  /** Runs a streaming call to its end, handing each chunk to `onChunk`. */
  stream(tool: string, args: unknown, onChunk: (chunk: ToolChunk) => void): Promise<void> {
    return drain(this.openStream(tool, args), onChunk);
  }

  /** Runs a batched streaming call to its end, handing each batch to `onBatch`. */
  streamBatches(tool: string, args: unknown, onBatch: (batch: ChunkBatch) => void): Promise<void> {
    return drain(this.openBatchStream(tool, args), onBatch);
  }

  unary(tool: string, args: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        methods.ExecuteTool.path,
        serializeRequest,
        (bytes: Buffer) => pb.ExecuteToolResponse.deserialize(bytes),
        this.request(tool, args),
        (error, response) => (error || !response ? reject(error ?? new Error('empty response')) : resolve(parseJson(response.result))),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Reads a call to its end: done once every message was read ('end') and the status was OK ('error' otherwise). */
function drain<T>(call: grpc.ClientReadableStream<T>, onMessage: (message: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    call.on('data', (message: T) => {
      try {
        onMessage(message);
      } catch (error) {
        call.cancel();
        reject(error);
      }
    });
    let ended = false;
    let succeeded = false;
    call.on('error', reject);
    call.on('status', (status: grpc.StatusObject) => {
      succeeded = status.code === grpc.status.OK;
      if (succeeded && ended) resolve();
    });
    call.on('end', () => {
      ended = true;
      if (succeeded) resolve();
    });
  });
}

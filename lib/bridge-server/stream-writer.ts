import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ChunkBatch, ToolChunk } from '../contract/bridge-connection.js';
import { ChunkBatchBuilder } from './chunk-batch-builder.js';
import { errorStatus } from '../contract/status-for-error.js';
import { encodeChunk, toToolChunk, type EncodedChunk } from './payload-encoding.js';
import type { PooledStream, Pulled } from './pooled-stream.js';

/** Ends a server stream with the error's status, after the messages already written. */
export function failStream<T>(call: ServerWritableStream<Buffer, T>, error: unknown): void {
  // grpc-js turns an 'error' event into the call's status once the writes queued before it are sent.
  call.emit('error', errorStatus(error));
}

/**
 * Resolves once the client has taken what was written, or the call is
 * cancelled. While it waits nothing is pulled from the pool, so the pooled
 * call pauses, and so does its worker, once the buffers between them fill.
 */
function drained<T>(call: ServerWritableStream<Buffer, T>, source: PooledStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      stopListening();
      resolve();
    };
    const stopListening = source.onCancel(done);
    call.once('drain', done);
  });
}

/** Ends the call as the pooled stream ended. */
function settle<T>(call: ServerWritableStream<Buffer, T>, pulled: Exclude<Pulled, { kind: 'chunk' }>): void {
  if (pulled.kind === 'error') failStream(call, pulled.error);
  else if (pulled.kind === 'done') call.end();
  // Cancelled: the client is gone, nobody to tell.
}

/** ExecuteStreamingTool: one message per chunk. */
export async function writeChunks(call: ServerWritableStream<Buffer, ToolChunk>, source: PooledStream, callId: string): Promise<void> {
  for (;;) {
    const pulled = await source.pull();
    if (pulled.kind !== 'chunk') {
      settle(call, pulled);
      return;
    }
    if (!call.write(toToolChunk(encodeChunk(pulled.chunk, callId)))) await drained(call, source);
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * ExecuteStreamingToolBatched: each message packs the chunks that are ready
 * when it leaves, those the pool has delivered by the next turn of the
 * event loop, up to the batch size; it never waits for more.
 */
export async function writeBatches(call: ServerWritableStream<Buffer, ChunkBatch>, source: PooledStream, callId: string): Promise<void> {
  let carried: EncodedChunk | undefined;
  for (;;) {
    let first = carried;
    carried = undefined;
    if (first === undefined) {
      const pulled = await source.pull();
      if (pulled.kind !== 'chunk') {
        settle(call, pulled);
        return;
      }
      first = encodeChunk(pulled.chunk, callId);
    }
    const batch = new ChunkBatchBuilder();
    batch.add(first);
    let ending: Exclude<Pulled, { kind: 'chunk' }> | undefined;
    if (!first.chunk.isFinal) {
      const turn = nextTurn();
      for (;;) {
        const pulled = await source.pullReady(turn);
        if (pulled === undefined) break;
        if (pulled.kind !== 'chunk') {
          ending = pulled;
          break;
        }
        const encoded = encodeChunk(pulled.chunk, callId);
        if (!batch.add(encoded)) {
          carried = encoded;
          break;
        }
        if (encoded.chunk.isFinal) break;
      }
    }
    const flowing = call.write(batch.build());
    if (ending !== undefined) {
      settle(call, ending);
      return;
    }
    if (!flowing) await drained(call, source);
  }
}

import type { Chunk } from '../chunk.js';
import { alignmentPadding, varintSize } from '../contract/alignment.js';
import { pb } from '../contract/bridge-connection.js';
import { stringifyJson } from '../json-text.js';
import { isNdArray } from '../ndarray.js';

/** A value as it travels: its bytes and how to read them. */
export interface Payload {
  readonly encoding: InstanceType<typeof pb.ToolChunk>['encoding'];
  readonly bytes: Uint8Array;
  readonly array: { readonly dtype: string; readonly shape: readonly number[] } | undefined;
}

/** A chunk encoded once, so that batching can weigh it and place it. */
export interface EncodedChunk {
  readonly chunk: Chunk;
  readonly chunkId: string;
  readonly payload: Payload;
  /** JSON, not final and without metadata: it may travel in a batch's `json_run`. */
  readonly plain: boolean;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Encodes a value as the pool decoded it from the worker: a `Uint8Array` was
 * bytes, an NdArray a numpy array, anything else JSON. Binary data is not copied.
 */
export function encodePayload(value: unknown): Payload {
  if (isNdArray(value)) {
    return { encoding: pb.Encoding.ENCODING_NDARRAY, bytes: bytesOf(value.data), array: { dtype: value.dtype, shape: value.shape } };
  }
  if (value instanceof Uint8Array) return { encoding: pb.Encoding.ENCODING_BYTES, bytes: value, array: undefined };
  // `null` rather than no bytes, so that clients need no special case to parse it. -0 keeps its sign.
  return { encoding: pb.Encoding.ENCODING_JSON, bytes: Buffer.from(stringifyJson(value ?? null), 'utf8'), array: undefined };
}

/**
 * Encodes a chunk. Chunk ids follow the contract, `<call_id>-<index>` with
 * the client's own call_id, because batched chunks of a `json_run` carry no
 * id and the client can only derive them from its call_id; a client that
 * sent none gets the pool's ids.
 */
export function encodeChunk(chunk: Chunk, callId: string): EncodedChunk {
  const payload = encodePayload(chunk.data);
  return {
    chunk,
    chunkId: callId === '' ? chunk.chunkId : `${callId}-${chunk.index}`,
    payload,
    plain: payload.encoding === pb.Encoding.ENCODING_JSON && !chunk.isFinal && Object.keys(chunk.metadata).length === 0,
  };
}

export function toToolChunk(encoded: EncodedChunk): InstanceType<typeof pb.ToolChunk> {
  const { chunk, payload } = encoded;
  return new pb.ToolChunk({
    chunk_id: encoded.chunkId,
    data: payload.bytes,
    is_final: chunk.isFinal,
    metadata: new Map(Object.entries(chunk.metadata)),
    encoding: payload.encoding,
    ...(payload.array === undefined ? {} : { array: new pb.ArrayInfo({ dtype: payload.array.dtype, shape: [...payload.array.shape] }) }),
  });
}

export function toExecuteToolResponse(result: unknown): InstanceType<typeof pb.ExecuteToolResponse> {
  const payload = encodePayload(result);
  const response = new pb.ExecuteToolResponse({
    result: payload.bytes,
    encoding: payload.encoding,
    ...(payload.array === undefined ? {} : { array: new pb.ArrayInfo({ dtype: payload.array.dtype, shape: [...payload.array.shape] }) }),
  });
  if (payload.encoding === pb.Encoding.ENCODING_NDARRAY) {
    // `result` (field 2) follows the padding: its tag, its length, then the data.
    response.padding = alignmentPadding(1 + varintSize(payload.bytes.byteLength));
  }
  return response;
}

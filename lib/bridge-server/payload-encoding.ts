import type { Chunk } from '../chunk.js';
import { alignAttachments, alignmentPadding, needsAlignment, varintSize } from '../contract/alignment.js';
import { DECODED_BINARY, withAttachments } from '../contract/attachment-encoding.js';
import { pb } from '../contract/bridge-connection.js';
import { stringifyJson } from '../json-text.js';

/** A value as it travels: its bytes and how to read them, and the binary values inside JSON. */
export interface Payload {
  readonly encoding: InstanceType<typeof pb.ToolChunk>['encoding'];
  readonly bytes: Uint8Array;
  readonly array: { readonly dtype: string; readonly shape: readonly number[] } | undefined;
  readonly attachments: InstanceType<typeof pb.Attachment>[];
}

/** A chunk encoded once, so that batching can weigh it and place it. */
export interface EncodedChunk {
  readonly chunk: Chunk;
  readonly chunkId: string;
  readonly payload: Payload;
  /** JSON, not final and without metadata: it may travel in a batch's `json_run`. */
  readonly plain: boolean;
}

/**
 * Encodes a value as the pool decoded it from the worker: a `Uint8Array` was
 * bytes, an NdArray a numpy array, a `Table` or `RecordBatch` Arrow data,
 * anything else JSON, with the binary values inside it as attachments.
 * Bytes and arrays are not copied.
 */
export function encodePayload(value: unknown): Payload {
  if (typeof value === 'object' && value !== null && DECODED_BINARY.is(value)) {
    const binary = DECODED_BINARY.encode(value, '');
    return { encoding: binary.encoding, bytes: binary.data, array: binary.array, attachments: [] };
  }
  const attached = withAttachments(value, 'value', DECODED_BINARY, stringifyJson);
  // `null` rather than no bytes, so that clients need no special case to parse it. -0 keeps its sign.
  const json = attached?.json ?? stringifyJson(value ?? null);
  return {
    encoding: pb.Encoding.ENCODING_JSON,
    bytes: Buffer.from(json, 'utf8'),
    array: undefined,
    attachments: attached?.attachments ?? [],
  };
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

function arrayInfo(payload: Payload) {
  return payload.array === undefined ? {} : { array: new pb.ArrayInfo({ dtype: payload.array.dtype, shape: [...payload.array.shape] }) };
}

/**
 * A chunk as ExecuteStreamingTool sends it, its attachments aligned (a ToolChunk has no padding of its own:
 * an array chunk's data is copied by the client, as the worker's own unbatched chunks are).
 */
export function toToolChunk(encoded: EncodedChunk): InstanceType<typeof pb.ToolChunk> {
  const { chunk, payload } = encoded;
  const fields = {
    chunk_id: encoded.chunkId,
    data: payload.bytes,
    is_final: chunk.isFinal,
    metadata: new Map(Object.entries(chunk.metadata)),
    encoding: payload.encoding,
    ...arrayInfo(payload),
  };
  // The attachments (field 7) come last: they start where the rest ends.
  if (payload.attachments.length > 0) alignAttachments(new pb.ToolChunk(fields).serialize().byteLength, payload.attachments);
  return new pb.ToolChunk({ ...fields, attachments: payload.attachments });
}

export function toExecuteToolResponse(result: unknown): InstanceType<typeof pb.ExecuteToolResponse> {
  const payload = encodePayload(result);
  const response = new pb.ExecuteToolResponse({ result: payload.bytes, encoding: payload.encoding, ...arrayInfo(payload) });
  if (needsAlignment(payload.encoding)) {
    // Arrays and Arrow data are viewed in place. `result` (field 2) follows the padding: its tag, its length, then the data.
    response.padding = alignmentPadding(1 + varintSize(payload.bytes.byteLength));
  }
  if (payload.attachments.length > 0) {
    // The attachments (field 5) come last: they start where the rest ends.
    alignAttachments(response.serialize().byteLength, payload.attachments);
    response.attachments = payload.attachments;
  }
  return response;
}

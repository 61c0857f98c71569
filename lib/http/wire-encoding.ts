import type { Chunk } from '../chunk.js';
import { isNdArray } from '../ndarray.js';
import {
  SSE_EVENTS,
  type WireBinary,
  type WireChunk,
  type WireError,
  type WireResult,
  type WireStreamStart,
} from '../browser/wire-format.js';

function base64(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

/** A value as JSON can carry it: binary data (bytes, numpy arrays) as base64 with what it was. */
function encodeWireValue(value: unknown): { readonly value: unknown; readonly binary: WireBinary } {
  if (isNdArray(value)) return { value: base64(value.data), binary: { encoding: 'ndarray', dtype: value.dtype, shape: value.shape } };
  if (value instanceof Uint8Array) return { value: base64(value), binary: { encoding: 'bytes' } };
  return { value: value ?? null, binary: {} };
}

function event(name: string, data: unknown, id?: number): string {
  // JSON text holds no line breaks, so one data line carries it whole.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The `chunk` event of a chunk; its id is the chunk's index. */
export function chunkEvent(chunk: Chunk): string {
  const { value, binary } = encodeWireValue(chunk.data);
  const wire: WireChunk = {
    data: value,
    isFinal: chunk.isFinal,
    index: chunk.index,
    chunkId: chunk.chunkId,
    metadata: chunk.metadata,
    ...binary,
  };
  return event(SSE_EVENTS.chunk, wire, chunk.index);
}

export function errorEvent(error: WireError): string {
  return event(SSE_EVENTS.error, error);
}

export function startEvent(start: WireStreamStart): string {
  return event(SSE_EVENTS.start, start);
}

/** A comment line: clients ignore it, proxies see traffic. */
export const HEARTBEAT = ': heartbeat\n\n';

export function resultBody(result: unknown): WireResult {
  const { value, binary } = encodeWireValue(result);
  return { result: value, ...binary };
}

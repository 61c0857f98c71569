import type { Chunk } from '../chunk.js';
import { stringifyJson } from '../json-text.js';
import { isNdArray } from '../ndarray.js';
import {
  SSE_EVENTS,
  type WireBinary,
  type WireChunk,
  type WireError,
  type WireResult,
  type WireStreamStart,
} from '../browser/wire-format.js';

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** A value as JSON can carry it: binary data (bytes, numpy arrays) as base64 with what it was. */
function encodeWireValue(value: unknown): { readonly value: unknown; readonly binary: WireBinary } {
  if (isNdArray(value))
    return { value: bytesOf(value.data).toString('base64'), binary: { encoding: 'ndarray', dtype: value.dtype, shape: value.shape } };
  if (value instanceof Uint8Array) return { value: bytesOf(value).toString('base64'), binary: { encoding: 'bytes' } };
  return { value: value ?? null, binary: {} };
}

function event(name: string, data: unknown, id?: number): string {
  // JSON text holds no line breaks, so one data line carries it whole.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${stringifyJson(data)}\n\n`;
}

/**
 * A binary chunk's event: its text up to the data, and the data itself,
 * which goes out as base64 piece by piece (the closing `"}` follows). A large
 * array is never copied whole into a string.
 */
export interface BinaryEvent {
  readonly head: string;
  readonly data: Buffer;
}

/** An event as it is written. */
export type SseEvent = string | BinaryEvent;

/** What follows a binary event's data. */
export const BINARY_EVENT_END = '"}\n\n';

/**
 * Bytes encoded at a time: a multiple of 3, so that the pieces' base64
 * joins into the whole's, and small enough that each piece's text is a
 * short-lived small allocation. Megabyte strings, one per chunk, fragment the
 * heap: a page reading 1 MiB chunks slowly grew the server by 71 MiB with
 * them, 29 MiB with pieces (bench, 128 MiB quick run).
 */
const BASE64_PIECE_BYTES = 3 * 16 * 1024;

/** The data of a binary event, as base64 text in pieces. */
export function* base64Pieces(data: Buffer): Generator<string> {
  for (let offset = 0; offset < data.byteLength; offset += BASE64_PIECE_BYTES) {
    yield data.subarray(offset, offset + BASE64_PIECE_BYTES).toString('base64');
  }
}

/** Bytes of an event as written; text counts by characters, which JSON's ASCII makes its bytes. */
export function eventBytes(event: SseEvent): number {
  return typeof event === 'string' ? event.length : event.head.length + Math.ceil(event.data.byteLength / 3) * 4 + BINARY_EVENT_END.length;
}

/** The `chunk` event of a chunk; its id is the chunk's index. */
export function chunkEvent(chunk: Chunk): SseEvent {
  const { isFinal, index, chunkId, metadata, data } = chunk;
  const binary = isNdArray(data) ? data.data : data instanceof Uint8Array ? data : undefined;
  if (binary === undefined) {
    const wire: WireChunk = { data: data ?? null, isFinal, index, chunkId, metadata };
    return event(SSE_EVENTS.chunk, wire, index);
  }
  const about: WireBinary = isNdArray(data) ? { encoding: 'ndarray', dtype: data.dtype, shape: data.shape } : { encoding: 'bytes' };
  const fields = stringifyJson({ isFinal, index, chunkId, metadata, ...about });
  return { head: `id: ${index}\nevent: ${SSE_EVENTS.chunk}\ndata: ${fields.slice(0, -1)},"data":"`, data: bytesOf(binary) };
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

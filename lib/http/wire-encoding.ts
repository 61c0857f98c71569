import type { Chunk } from '../chunk.js';
import { isArrowRecordBatch, isArrowTable, writeArrow } from '../contract/arrow-ipc.js';
import { containsBinary, DECODED_BINARY } from '../contract/attachment-encoding.js';
import { stringifyJson } from '../json-text.js';
import { isNdArray } from '../ndarray.js';
import {
  SSE_EVENTS,
  type WireBinaries,
  type WireBinary,
  type WireBinaryAt,
  type WireChunk,
  type WireError,
  type WireResult,
  type WireStreamStart,
} from '../browser/wire-format.js';

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** A binary value's bytes and what it was, or undefined for a value that travels as JSON. */
function binaryOf(value: unknown): { readonly bytes: Buffer; readonly binary: WireBinary } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (isNdArray(value)) return { bytes: bytesOf(value.data), binary: { encoding: 'ndarray', dtype: value.dtype, shape: value.shape } };
  if (value instanceof Uint8Array) return { bytes: bytesOf(value), binary: { encoding: 'bytes' } };
  if (isArrowTable(value)) return { bytes: bytesOf(writeArrow(value)), binary: { encoding: 'arrow-table' } };
  if (isArrowRecordBatch(value)) return { bytes: bytesOf(writeArrow(value)), binary: { encoding: 'arrow-record-batch' } };
  return undefined;
}

/**
 * The binary values inside a JSON value replaced by their base64 text, in a
 * copy of the containers on the way to each (undefined when there is none),
 * and where each was.
 */
function inlineBinaries(value: unknown, path: (string | number)[], found: WireBinaryAt[]): unknown {
  if (typeof value !== 'object' || value === null || typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const binary = binaryOf(value);
  if (binary !== undefined) {
    found.push({ ...binary.binary, encoding: binary.binary.encoding!, path: [...path] });
    return binary.bytes.toString('base64');
  }
  let copy: Record<string | number, unknown> | unknown[] | undefined;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item: unknown, index) => [index, item])
    : Object.entries(value);
  for (const [key, item] of entries) {
    path.push(key);
    const replaced = inlineBinaries(item, path, found);
    path.pop();
    if (replaced === undefined) continue;
    copy ??= Array.isArray(value) ? [...(value as unknown[])] : { ...value };
    Object.defineProperty(copy, key, { value: replaced, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

/** A value as JSON can carry it: binary data (bytes, numpy arrays, Arrow data) as base64 with what it was, at any depth. */
function encodeWireValue(value: unknown): { readonly value: unknown; readonly binary: WireBinary & WireBinaries } {
  const binary = binaryOf(value);
  if (binary !== undefined) return { value: binary.bytes.toString('base64'), binary: binary.binary };
  if (!containsBinary(value, DECODED_BINARY)) return { value: value ?? null, binary: {} };
  const found: WireBinaryAt[] = [];
  const inlined = inlineBinaries(value, [], found);
  return inlined === undefined ? { value: value ?? null, binary: {} } : { value: inlined, binary: { binaries: found } };
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
  const binary = binaryOf(data);
  if (binary === undefined) {
    const { value, binary: inside } = encodeWireValue(data);
    const wire: WireChunk = { data: value, isFinal, index, chunkId, metadata, ...inside };
    return event(SSE_EVENTS.chunk, wire, index);
  }
  const fields = stringifyJson({ isFinal, index, chunkId, metadata, ...binary.binary });
  return { head: `id: ${index}\nevent: ${SSE_EVENTS.chunk}\ndata: ${fields.slice(0, -1)},"data":"`, data: binary.bytes };
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

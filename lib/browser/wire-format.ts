// What travels between the HTTP handler (lib/http/) and the browser client:
// the JSON of each `chunk` event and of an execute response. Both sides use
// these types, and the client decodes binary values here. Browser-safe.
import type { Chunk } from '../chunk.js';
import { TYPED_ARRAY_BY_DTYPE, type NdArray } from '../ndarray.js';

/** How a binary value travels: base64 text in place of the value, and what it was. */
export interface WireBinary {
  /** `bytes`: a Python `bytes` (a `Uint8Array`); `ndarray`: a numpy array (an `NdArray`). Absent: the value is JSON. */
  readonly encoding?: 'bytes' | 'ndarray';
  /** For `ndarray`: the numpy dtype name. */
  readonly dtype?: string;
  /** For `ndarray`: the array's dimensions. */
  readonly shape?: readonly number[];
}

/** The data of one `chunk` event: the chunk as JSON, its binary data as base64. */
export interface WireChunk extends WireBinary {
  readonly data: unknown;
  readonly isFinal: boolean;
  readonly index: number;
  readonly chunkId: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The body of a successful `POST /execute/:tool`. */
export interface WireResult extends WireBinary {
  readonly result: unknown;
}

/** The data of the first event of every stream response. */
export interface WireStreamStart {
  readonly streamId: string;
  /** The handler's `resumeWindow`: 0 when a dropped connection cancels the call at once. */
  readonly resumeWindowMs: number;
}

/** The body of every error response, and the data of an `error` event. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly pythonType?: string;
  readonly pythonTraceback?: string;
  readonly hint?: string;
}

/** The server-sent event names of a stream response. */
export const SSE_EVENTS = { start: 'stream', chunk: 'chunk', error: 'error' } as const;

/** The header that carries a stream's id, for `GET /stream/resume/:streamId`. */
export const STREAM_ID_HEADER = 'Snakepit-Stream-Id';

type Base64Decoder = (text: string) => Uint8Array;

// Uint8Array.fromBase64 (TC39, in recent browsers) is much faster than atob; older runtimes get atob.
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: Base64Decoder }).fromBase64;

function fromBase64(text: string): Uint8Array {
  if (nativeFromBase64 !== undefined) return nativeFromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The value a wire value stands for: itself for JSON, a `Uint8Array` or an `NdArray` for binary data. */
export function decodeWireValue(value: unknown, binary: WireBinary): unknown {
  if (binary.encoding === undefined) return value;
  if (typeof value !== 'string') throw new TypeError(`a ${binary.encoding} value must travel as base64 text`);
  const bytes = fromBase64(value);
  if (binary.encoding === 'bytes') return bytes;
  const dtype = binary.dtype ?? 'uint8';
  const Typed = TYPED_ARRAY_BY_DTYPE[dtype];
  if (Typed === undefined) throw new TypeError(`unsupported array dtype ${dtype}`);
  const length = bytes.byteLength / Typed.BYTES_PER_ELEMENT;
  const array: NdArray = { dtype, shape: binary.shape ?? [length], data: new Typed(bytes.buffer, bytes.byteOffset, length) };
  return array;
}

/** The chunk a `chunk` event carries, as `pool.stream()` would have emitted it. */
export function decodeWireChunk<T>(wire: WireChunk): Chunk<T> {
  return {
    data: decodeWireValue(wire.data, wire) as T,
    isFinal: wire.isFinal,
    index: wire.index,
    chunkId: wire.chunkId,
    metadata: wire.metadata,
  };
}

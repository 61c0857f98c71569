// What travels between the HTTP handler (lib/http/) and the browser client:
// the JSON of each `chunk` event and of an execute response. Both sides use
// these types, and the client decodes binary values here. Browser-safe.
import type { Chunk } from '../chunk.js';
import { SnakepitError } from '../errors.js';
import { TYPED_ARRAY_BY_DTYPE, type NdArray } from '../ndarray.js';
import { cutInput } from '../quoted-input.js';

/** How a binary value travels: base64 text in place of the value, and what it was. */
export interface WireBinary {
  /**
   * `bytes`: a Python `bytes` (a `Uint8Array`); `ndarray`: a numpy array (an `NdArray`); `arrow-table`,
   * `arrow-record-batch`: Arrow data (an apache-arrow `Table` or `RecordBatch`; see `arrow` in the
   * client's options), as an Arrow IPC stream. Absent: the value is JSON.
   */
  readonly encoding?: WireBinaryEncoding;
  /** For `ndarray`: the numpy dtype name. */
  readonly dtype?: string;
  /** For `ndarray`: the array's dimensions. */
  readonly shape?: readonly number[];
}

/** The kinds of binary value (see {@link WireBinary}). */
export type WireBinaryEncoding = 'bytes' | 'ndarray' | 'arrow-table' | 'arrow-record-batch';

/**
 * A binary value inside a JSON value: its base64 text stands at `path`
 * (object keys and array indices from the value's root). A path says
 * exactly where, so no string of the value's can be taken for one.
 */
export interface WireBinaryAt extends WireBinary {
  readonly encoding: WireBinaryEncoding;
  readonly path: readonly (string | number)[];
}

/** What travels beside a JSON value: the binary values inside it. */
export interface WireBinaries {
  /** The binary values inside the JSON value, if it has any. */
  readonly binaries?: readonly WireBinaryAt[];
}

/** The data of one `chunk` event: the chunk as JSON, its binary data as base64. */
export interface WireChunk extends WireBinary, WireBinaries {
  readonly data: unknown;
  readonly isFinal: boolean;
  readonly index: number;
  readonly chunkId: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The body of a successful `POST /execute/:tool`. */
export interface WireResult extends WireBinary, WireBinaries {
  readonly result: unknown;
}

/** Reads Arrow IPC streams: apache-arrow's `tableFromIPC`, given to the client so that it loads apache-arrow only if you do. */
export interface ArrowReader {
  /** Reads one Arrow IPC stream into a Table. */
  tableFromIPC(bytes: Uint8Array): {
    /** The Table's record batches; a chunk that was one batch in Python arrives as the only one. */
    readonly batches: readonly unknown[];
  };
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

/** The header that carries the stream's resume window in ms (0: the stream cannot be resumed). */
export const RESUME_WINDOW_HEADER = 'Snakepit-Resume-Window';

/** Reads base64 text into bytes; throws on text that is not base64. */
export type Base64Decoder = (text: string) => Uint8Array;

// Uint8Array.fromBase64 (TC39, in recent browsers) is much faster than atob; older runtimes get atob.
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: Base64Decoder }).fromBase64;

/** Base64 text as atob reads it (forgiving-base64), by Uint8Array.fromBase64 where there is one. */
export function decodeBase64(text: string): Uint8Array {
  if (nativeFromBase64 !== undefined) return nativeFromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function readArrow(bytes: Uint8Array, batch: boolean, arrow: ArrowReader | undefined): unknown {
  if (arrow === undefined) {
    throw new SnakepitError('serialization_error', 'the tool sent Arrow data, which the client reads with apache-arrow', {
      hint: "import { tableFromIPC } from 'apache-arrow' and pass createHttpClient({ arrow: { tableFromIPC } })",
    });
  }
  const table = arrow.tableFromIPC(bytes);
  return batch ? table.batches[0] : table;
}

function decodeBinary(value: unknown, binary: WireBinary, arrow: ArrowReader | undefined, fromBase64: Base64Decoder): unknown {
  if (typeof value !== 'string') throw new TypeError(`a ${String(binary.encoding)} value must travel as base64 text`);
  const bytes = fromBase64(value);
  if (binary.encoding === 'bytes') return bytes;
  if (binary.encoding === 'arrow-table' || binary.encoding === 'arrow-record-batch') {
    return readArrow(bytes, binary.encoding === 'arrow-record-batch', arrow);
  }
  const dtype = binary.dtype ?? 'uint8';
  const Typed = TYPED_ARRAY_BY_DTYPE[dtype];
  // The HTTP handler decodes a browser's binary arguments here: what they say is quoted cut short, as any client's input.
  if (Typed === undefined) throw new TypeError(`unsupported array dtype ${cutInput(dtype)}`);
  if (bytes.byteLength % Typed.BYTES_PER_ELEMENT !== 0) {
    throw new TypeError(`a ${dtype} array of ${bytes.byteLength} bytes, not a whole number of ${Typed.BYTES_PER_ELEMENT}-byte values`);
  }
  const length = bytes.byteLength / Typed.BYTES_PER_ELEMENT;
  // A typed array views whole elements only: a decoder may return bytes inside a larger buffer (Node's Buffer pool).
  const aligned = bytes.byteOffset % Typed.BYTES_PER_ELEMENT === 0 ? bytes : new Uint8Array(bytes);
  const array: NdArray = { dtype, shape: binary.shape ?? [length], data: new Typed(aligned.buffer, aligned.byteOffset, length) };
  return array;
}

function ownProperty(value: unknown, key: string | number): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string | number, unknown>)[key]
    : undefined;
}

/** Puts each binary value in place of its base64 text inside a decoded JSON value (which it changes). */
function placeBinaries(
  value: unknown,
  binaries: readonly WireBinaryAt[],
  arrow: ArrowReader | undefined,
  fromBase64: Base64Decoder,
): unknown {
  let root = value;
  for (const binary of binaries) {
    if (binary.path.length === 0) {
      root = decodeBinary(root, binary, arrow, fromBase64);
      continue;
    }
    let parent: unknown = root;
    // Own properties only: a path through "__proto__" of an object without one must not reach Object.prototype.
    for (const step of binary.path.slice(0, -1)) parent = ownProperty(parent, step);
    const last = binary.path.at(-1)!;
    if (typeof parent !== 'object' || parent === null || !Object.hasOwn(parent, last)) {
      throw new TypeError(`no value at the path of a binary value, ${cutInput(JSON.stringify(binary.path))}`);
    }
    const decoded = decodeBinary((parent as Record<string | number, unknown>)[last], binary, arrow, fromBase64);
    // defineProperty: a "__proto__" key is an own key of JSON.parse's objects, which assigning would not set.
    Object.defineProperty(parent, last, { value: decoded, writable: true, enumerable: true, configurable: true });
  }
  return root;
}

/**
 * The value a wire value stands for: itself for JSON (with the binary values
 * inside it in place), or a binary value. The server passes a faster base64
 * decoder than a browser's.
 */
export function decodeWireValue(
  value: unknown,
  binary: WireBinary & WireBinaries,
  arrow?: ArrowReader,
  fromBase64: Base64Decoder = decodeBase64,
): unknown {
  if (binary.encoding !== undefined) return decodeBinary(value, binary, arrow, fromBase64);
  return binary.binaries === undefined ? value : placeBinaries(value, binary.binaries, arrow, fromBase64);
}

/** The chunk a `chunk` event carries, as `pool.stream()` would have emitted it. */
export function decodeWireChunk<T>(wire: WireChunk, arrow?: ArrowReader): Chunk<T> {
  return {
    data: decodeWireValue(wire.data, wire, arrow) as T,
    isFinal: wire.isFinal,
    index: wire.index,
    chunkId: wire.chunkId,
    metadata: wire.metadata,
  };
}

import { cutInput, quote } from './quoted-input.js';

/**
 * A numpy array as it arrives in Node: its dtype, its shape, and its buffer
 * viewed as the matching typed array (row-major, little-endian).
 *
 * This module imports only quoted-input.ts, which imports nothing, so that browser code can use it.
 */
export type NdArrayData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A numpy array received from Python (see {@link NdArrayData}). */
export interface NdArray<D extends NdArrayData = NdArrayData> {
  /** The numpy dtype name: `float64`, `int32`, `bool` (viewed as `Uint8Array`), ... */
  readonly dtype: string;
  /** The array's dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The elements, row-major, viewing the received message where possible. */
  readonly data: D;
}

/**
 * True for a value shaped as an NdArray: a dtype name, a shape, and a typed
 * array. JSON never decodes to a typed array, so a tool's own
 * `{dtype, shape, data}` object is not mistaken for one.
 */
export function isNdArray(value: unknown): value is NdArray {
  if (typeof value !== 'object' || value === null) return false;
  const { dtype, shape, data } = value as Partial<Record<keyof NdArray, unknown>>;
  return typeof dtype === 'string' && Array.isArray(shape) && ArrayBuffer.isView(data) && !(data instanceof DataView);
}

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NdArrayData;
  readonly BYTES_PER_ELEMENT: number;
};

/** @internal The typed array that views each numpy dtype the worker sends raw. */
export const TYPED_ARRAY_BY_DTYPE: Readonly<Record<string, TypedArrayConstructor>> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/** The numpy dtype of each typed array a call's arguments send as an array (a Uint8Array is bytes). */
const DTYPE_BY_TYPED_ARRAY = new Map<unknown, string>([
  [Int8Array, 'int8'],
  [Uint8ClampedArray, 'uint8'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [BigUint64Array, 'uint64'],
]);

/** numpy 2's NPY_MAXDIMS: the worker cannot make an array of more dimensions. */
const NUMPY_MAX_DIMENSIONS = 64;

/** @internal How a binary value of a call's arguments travels, or why it cannot (`refused` completes "<where> is …"). */
export type BinaryArgument =
  | { readonly encoding: 'bytes'; readonly bytes: Uint8Array }
  | { readonly encoding: 'ndarray'; readonly bytes: Uint8Array; readonly dtype: string; readonly shape: readonly number[] }
  | { readonly refused: string };

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * @internal A binary value of a call's arguments as it travels, its bytes viewed
 * rather than copied: a `Uint8Array` (a `Buffer` too) as bytes, another typed
 * array as a one-dimensional array of its type, an NdArray as an array of its
 * dtype and shape; undefined for a value that is not binary (it travels as JSON).
 * The pool (attachments) and the browser client (base64) send what this says.
 */
export function binaryArgument(value: unknown): BinaryArgument | undefined {
  if (value instanceof Uint8Array) return { encoding: 'bytes', bytes: bytesOf(value) };
  if (isNdArray(value)) {
    const { dtype, shape, data } = value;
    const Typed = TYPED_ARRAY_BY_DTYPE[dtype];
    if (Typed === undefined) {
      return { refused: `an NdArray of dtype ${quote(dtype)}, which is none of ${Object.keys(TYPED_ARRAY_BY_DTYPE).join(', ')}` };
    }
    if (!(data instanceof Typed))
      return { refused: `an NdArray of dtype ${dtype} whose data is a ${data.constructor.name}, not a ${Typed.name}` };
    const count = shape.reduce((product, size) => product * size, 1);
    if (!shape.every((size) => Number.isSafeInteger(size) && size >= 0) || count !== data.length) {
      // The shape may be a browser's (the HTTP handler's binaries): quoted cut short, as any client's input.
      return { refused: `an NdArray of shape ${cutInput(JSON.stringify(shape))} holding ${data.length} values` };
    }
    if (shape.length > NUMPY_MAX_DIMENSIONS) {
      return { refused: `an NdArray of ${shape.length} dimensions, over numpy's ${NUMPY_MAX_DIMENSIONS}` };
    }
    // With a size of 0, the others may be any size and still hold no values; numpy still multiplies them.
    const extent = shape.reduce((product, size) => product * Math.max(size, 1), data.BYTES_PER_ELEMENT);
    if (!Number.isSafeInteger(extent)) {
      return { refused: `an NdArray of shape ${cutInput(JSON.stringify(shape))}, which numpy cannot make` };
    }
    return { encoding: 'ndarray', bytes: bytesOf(data), dtype, shape };
  }
  if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) return undefined;
  const dtype = DTYPE_BY_TYPED_ARRAY.get(value.constructor);
  if (dtype === undefined || !ArrayBuffer.isView(value)) return { refused: `a ${value.constructor.name}, which cannot be sent as it is` };
  return { encoding: 'ndarray', bytes: bytesOf(value), dtype, shape: [(value as unknown as ArrayLike<unknown>).length] };
}

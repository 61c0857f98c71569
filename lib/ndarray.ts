/**
 * A numpy array as it arrives in Node: its dtype, its shape, and its buffer
 * viewed as the matching typed array (row-major, little-endian).
 *
 * This module imports nothing, so that browser code can use the type.
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

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

export interface NdArray<D extends NdArrayData = NdArrayData> {
  /** The numpy dtype name: `float64`, `int32`, `bool` (viewed as `Uint8Array`), ... */
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: D;
}

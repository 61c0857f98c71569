import type { NdArray, NdArrayData } from '../ndarray.js';
import { pb, type Encoding } from './bridge-connection.js';

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NdArrayData;
  readonly BYTES_PER_ELEMENT: number;
};

const TYPED_ARRAYS: Readonly<Record<string, TypedArrayConstructor>> = {
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

export function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

function decodeArray(bytes: Uint8Array, info: { dtype: string; shape: number[] } | undefined): NdArray {
  const dtype = info?.dtype ?? 'uint8';
  const Typed = TYPED_ARRAYS[dtype];
  if (Typed === undefined) throw new TypeError(`unsupported array dtype ${dtype}`);
  const size = Typed.BYTES_PER_ELEMENT;
  // A view needs an aligned offset; the worker pads messages for it, other senders may not.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return {
    dtype,
    shape: info?.shape ?? [bytes.byteLength / size],
    data: new Typed(aligned.buffer, aligned.byteOffset, aligned.byteLength / size),
  };
}

/** The JavaScript value of a payload: JSON value, `Uint8Array`, or `NdArray`. No copy for binary data. */
export function decodePayload(encoding: Encoding, bytes: Uint8Array, array: { dtype: string; shape: number[] } | undefined): unknown {
  switch (encoding) {
    case pb.Encoding.ENCODING_BYTES:
      return bytes;
    case pb.Encoding.ENCODING_NDARRAY:
      return decodeArray(bytes, array);
    default:
      return decodeJson(bytes);
  }
}

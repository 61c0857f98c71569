import { TYPED_ARRAY_BY_DTYPE, type NdArray } from '../ndarray.js';
import { pb, type Encoding } from './bridge-connection.js';

export function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

function decodeArray(bytes: Uint8Array, info: { dtype: string; shape: number[] } | undefined): NdArray {
  const dtype = info?.dtype ?? 'uint8';
  const Typed = TYPED_ARRAY_BY_DTYPE[dtype];
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

import type { BinaryKind, BinaryValue } from '../contract/attachment-encoding.js';
import { pb } from '../contract/bridge-connection.js';
import { SnakepitError } from '../errors.js';
import { isNdArray, TYPED_ARRAY_BY_DTYPE, type NdArray } from '../ndarray.js';

/** The numpy dtype of each typed array a tool receives as a numpy array (a Uint8Array or Buffer is bytes). */
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

const HINT = 'pass bytes as a Uint8Array or Buffer, arrays as a typed array or an NdArray { dtype, shape, data }';

function refuse(path: string, reason: string): never {
  throw new SnakepitError('invalid_arguments', `${path} ${reason}`, { hint: HINT });
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function ndarray(value: NdArray, path: string): BinaryValue {
  const { dtype, shape, data } = value;
  const Typed = TYPED_ARRAY_BY_DTYPE[dtype];
  if (Typed === undefined)
    refuse(path, `is an NdArray of dtype ${JSON.stringify(dtype)}, which is none of ${Object.keys(TYPED_ARRAY_BY_DTYPE).join(', ')}`);
  if (!(data instanceof Typed))
    refuse(path, `is an NdArray of dtype ${dtype} whose data is a ${data.constructor.name}, not a ${Typed.name}`);
  const count = shape.reduce((product, size) => product * size, 1);
  if (!shape.every((size) => Number.isSafeInteger(size) && size >= 0) || count !== data.length) {
    refuse(path, `is an NdArray of shape ${JSON.stringify(shape)} holding ${data.length} values`);
  }
  return { encoding: pb.Encoding.ENCODING_NDARRAY, data: bytesOf(data), array: { dtype, shape } };
}

/**
 * The binary values a call's arguments may hold, and how each travels: a
 * `Uint8Array` (a `Buffer` too) as bytes, another typed array as a
 * one-dimensional numpy array of its type, an {@link NdArray} as a numpy
 * array of its dtype and shape. Their bytes are viewed, not copied.
 */
export const ARGUMENT_BINARY: BinaryKind = {
  is: (value) => ArrayBuffer.isView(value) || value instanceof ArrayBuffer || isNdArray(value),
  encode(value, path): BinaryValue {
    if (value instanceof Uint8Array) return { encoding: pb.Encoding.ENCODING_BYTES, data: bytesOf(value) };
    if (isNdArray(value)) return ndarray(value, path);
    const dtype = DTYPE_BY_TYPED_ARRAY.get(value.constructor);
    if (dtype === undefined || !ArrayBuffer.isView(value)) {
      refuse(path, `is a ${value.constructor.name}, which cannot be sent as it is`);
    }
    return {
      encoding: pb.Encoding.ENCODING_NDARRAY,
      data: bytesOf(value),
      array: { dtype, shape: [(value as unknown as ArrayLike<unknown>).length] },
    };
  },
};

import { quotedPath } from '../argument-path.js';
import type { BinaryKind, BinaryValue } from '../contract/attachment-encoding.js';
import { pb } from '../contract/bridge-connection.js';
import { SnakepitError } from '../errors.js';
import { binaryArgument } from '../ndarray.js';

const HINT = 'pass bytes as a Uint8Array or Buffer, arrays as a typed array or an NdArray { dtype, shape, data }';

/**
 * The binary values a call's arguments may hold, and how each travels: a
 * `Uint8Array` (a `Buffer` too) as bytes, another typed array as a
 * one-dimensional numpy array of its type, an NdArray as a numpy
 * array of its dtype and shape. Their bytes are viewed, not copied.
 */
export const ARGUMENT_BINARY: BinaryKind = {
  is: (value) => binaryArgument(value) !== undefined,
  encode(value, path): BinaryValue {
    const binary = binaryArgument(value);
    if (binary === undefined || 'refused' in binary) {
      throw new SnakepitError('invalid_arguments', `${quotedPath(path)} is ${binary?.refused ?? 'not binary'}`, { hint: HINT });
    }
    if (binary.encoding === 'bytes') return { encoding: pb.Encoding.ENCODING_BYTES, data: binary.bytes };
    const { dtype, shape } = binary;
    return { encoding: pb.Encoding.ENCODING_NDARRAY, data: binary.bytes, array: { dtype, shape } };
  },
};

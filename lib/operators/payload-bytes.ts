import { isNdArray } from '../ndarray.js';

/**
 * A cheap estimate of the size of a chunk's payload, in bytes, as
 * {@link batchChunks} counts it against `maxBytes`.
 *
 * - `null` and `undefined`: 0 (a synthetic final chunk carries nothing).
 * - Binary data — `Uint8Array` and the other typed arrays, `DataView`,
 *   `ArrayBuffer` — and an array decoded from numpy (`{ dtype, shape, data }`
 *   whose `data` is binary): their `byteLength`.
 * - Any other value: the UTF-8 length of its JSON text, with binary data
 *   nested in it counted by `byteLength` rather than serialised.
 *
 * The JSON length is close to what the value cost on the wire and needs no
 * walk of our own over the value. A value that JSON cannot serialise
 * (a cycle, a `BigInt`) counts as 0 rather than throwing: an estimate must not
 * break the stream.
 */
export function estimatePayloadBytes(data: unknown): number {
  if (data === null || data === undefined) return 0;
  const binary = binaryByteLength(data);
  if (binary !== undefined) return binary;
  let nestedBinary = 0;
  let text: string | undefined;
  try {
    text = JSON.stringify(data, function (this: Readonly<Record<string, unknown>>, key: string, value: unknown) {
      // The replacer gets what toJSON made of a value (a Buffer's is its bytes as an array of numbers); the
      // holder still has the value itself.
      const length = viewLength(this[key]);
      if (length === undefined) return value;
      nestedBinary += length;
      return null;
    });
  } catch {
    return 0;
  }
  return (text === undefined ? 0 : utf8Length(text)) + nestedBinary;
}

/**
 * The size of binary data, in bytes: a typed array, `DataView` or
 * `ArrayBuffer`, or an array decoded from numpy; undefined for any other
 * value. What `iterate()` counts against its read-ahead limit, without the
 * JSON walk of {@link estimatePayloadBytes}.
 */
export function binaryByteLength(data: unknown): number | undefined {
  return viewLength(data) ?? (isNdArray(data) ? data.data.byteLength : undefined);
}

function viewLength(value: unknown): number | undefined {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? value.byteLength : undefined;
}

/** UTF-8 length of a string, counted from its UTF-16 code units without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit < 0xe000;
}

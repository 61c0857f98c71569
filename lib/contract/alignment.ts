/**
 * Zero padding that lets a client view a numpy buffer as a typed array where
 * it lies in a message. The counterpart of worker-python's alignment.py;
 * spec/shared-tables.spec.ts checks that both give the same padding.
 *
 * A Float64Array over a message buffer needs its data at an offset divisible
 * by 8. grpc-js hands each message to its deserializer 5 bytes into a buffer
 * that starts 8-aligned (after the gRPC frame header). The padding field is
 * field 1, written first, so its length moves everything after it. Without
 * the padding, the client copies the array instead: still correct, only slower.
 */
const RECEIVER_OFFSET = 5;
const ALIGNMENT = 8;

/** Bytes taken by `value` as a protobuf varint. */
export function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size += 1;
  return size;
}

/** Bytes taken by a length-delimited field numbered below 16: tag, length, payload. */
export function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** The zero bytes of a leading `padding` field that put what follows it `offsetAfterPadding` bytes on at an aligned offset. */
export function alignmentPadding(offsetAfterPadding: number): Uint8Array {
  for (let length = 0; length < ALIGNMENT + 3; length += 1) {
    const field = length === 0 ? 0 : lengthDelimitedSize(length);
    if ((RECEIVER_OFFSET + field + offsetAfterPadding) % ALIGNMENT === 0) return new Uint8Array(length);
  }
  throw new Error('unreachable: a padding of up to 10 bytes reaches every residue');
}

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
import { pb } from './bridge-connection.js';

const RECEIVER_OFFSET = 5;
const ALIGNMENT = 8;

type Encoding = InstanceType<typeof pb.Attachment>['encoding'];

/** Whether a reader views data of this encoding in place (typed arrays, Arrow buffers), and so it is aligned. */
export function needsAlignment(encoding: Encoding): boolean {
  return (
    encoding === pb.Encoding.ENCODING_NDARRAY ||
    encoding === pb.Encoding.ENCODING_ARROW_TABLE ||
    encoding === pb.Encoding.ENCODING_ARROW_RECORD_BATCH
  );
}

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

/**
 * Bytes an attachment takes as a message without its padding: measured without its data, which
 * serializing would copy (an array of megabytes), and the data's field added.
 */
function unpaddedSize(attachment: InstanceType<typeof pb.Attachment>): number {
  const { encoding, chunk, placeholder } = attachment;
  const rest = new pb.Attachment({ encoding, chunk, placeholder, ...(attachment.has_array ? { array: attachment.array } : {}) });
  const dataLength = attachment.data.byteLength;
  return rest.serialize().byteLength + (dataLength === 0 ? 0 : lengthDelimitedSize(dataLength));
}

/**
 * Sets the padding of each attachment of a message whose attachments (its
 * last fields, by number) start `offset` bytes into it, so that the data of
 * arrays and Arrow streams lands at aligned offsets, as worker-python's
 * align_attachments does.
 */
export function alignAttachments(offset: number, attachments: readonly InstanceType<typeof pb.Attachment>[]): void {
  if (!attachments.some((attachment) => needsAlignment(attachment.encoding))) return;
  let at = offset;
  for (const attachment of attachments) {
    const unpadded = unpaddedSize(attachment);
    let padding = 0;
    if (needsAlignment(attachment.encoding)) {
      // `data` (field 2) follows the padding (field 1): its tag and length, then the bytes.
      const dataHead = 1 + varintSize(attachment.data.byteLength);
      for (let length = 0; length < ALIGNMENT + 3; length += 1) {
        padding = length === 0 ? 0 : lengthDelimitedSize(length);
        if ((RECEIVER_OFFSET + at + 1 + varintSize(unpadded + padding) + padding + dataHead) % ALIGNMENT === 0) {
          attachment.padding = new Uint8Array(length);
          break;
        }
      }
    } else {
      attachment.padding = new Uint8Array(0);
    }
    at += lengthDelimitedSize(unpadded + padding);
  }
}

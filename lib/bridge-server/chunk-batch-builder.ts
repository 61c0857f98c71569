import { pb } from '../contract/bridge-connection.js';
import { alignAttachments, alignmentPadding, lengthDelimitedSize, needsAlignment, varintSize } from '../contract/alignment.js';
import { toToolChunk, type EncodedChunk } from './payload-encoding.js';

/** How much one batched message carries, as the Python worker's default: small enough to keep latency low. */
export const MAX_BATCH_BYTES = 256 * 1024;
// A ToolChunk's tags, lengths and small fields around its data.
const CHUNK_FRAMING_BYTES = 32;
// An Attachment's tags, lengths, array info and placeholder around its data.
const ATTACHMENT_FRAMING_BYTES = 128;

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * Chunks packed into one ChunkBatch: first a run of plain JSON chunks as
 * one JSON array, then the others. As in the Python worker, a plain chunk
 * after another kind starts the next batch, so that order is kept.
 */
export class ChunkBatchBuilder {
  private readonly run: EncodedChunk[] = [];
  private readonly chunks: EncodedChunk[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes = MAX_BATCH_BYTES) {}

  /** Adds the chunk, or returns false when it belongs in the next batch. A chunk too large for any batch goes alone. */
  add(encoded: EncodedChunk): boolean {
    const attached = encoded.payload.attachments.reduce(
      (sum, attachment) => sum + attachment.data.byteLength + ATTACHMENT_FRAMING_BYTES,
      0,
    );
    const framed = encoded.payload.bytes.byteLength + attached + (encoded.plain ? 1 : CHUNK_FRAMING_BYTES + encoded.chunkId.length);
    if (this.bytes > 0 && this.bytes + framed > this.maxBytes) return false;
    if (encoded.plain) {
      if (this.chunks.length > 0) return false;
      this.run.push(encoded);
    } else {
      this.chunks.push(encoded);
    }
    this.bytes += framed;
    return true;
  }

  build(): InstanceType<typeof pb.ChunkBatch> {
    const jsonRun = this.run.length === 0 ? new Uint8Array(0) : joinJsonArray(this.run.map((encoded) => encoded.payload.bytes));
    // The attachments of a batch's chunks travel as the batch's, each naming its chunk.
    const attachments = [...this.run, ...this.chunks].flatMap((encoded, chunk) =>
      encoded.payload.attachments.map((attachment) => {
        // Each chunk's attachments were made for it alone (encodePayload): naming the chunk changes no one else's.
        attachment.chunk = chunk;
        return attachment;
      }),
    );
    const chunks = this.chunks.map((encoded) => toToolChunk({ ...encoded, payload: { ...encoded.payload, attachments: [] } }));
    const batch = new pb.ChunkBatch({ json_run: jsonRun, chunks });
    const first = this.chunks[0];
    if (first !== undefined && needsAlignment(first.payload.encoding)) {
      batch.padding = alignmentPadding(offsetOfFirstData(jsonRun.byteLength, first));
    }
    if (attachments.length > 0) {
      // The attachments (field 4) come last: they start where the rest ends.
      alignAttachments(batch.serialize().byteLength, attachments);
      batch.attachments = attachments;
    }
    return batch;
  }
}

function joinJsonArray(texts: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [OPEN];
  texts.forEach((text, position) => {
    if (position > 0) parts.push(COMMA);
    parts.push(text);
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

/** Where the first chunk's data starts, counted from the end of the padding field. */
function offsetOfFirstData(jsonRunLength: number, first: EncodedChunk): number {
  const dataLength = first.payload.bytes.byteLength;
  // The chunk's size without its data is cheap to measure; the data field adds tag, length and bytes.
  const withoutData = toToolChunk({ ...first, payload: { ...first.payload, bytes: new Uint8Array(0) } }).serialize().byteLength;
  const chunkSize = withoutData + (dataLength === 0 ? 0 : lengthDelimitedSize(dataLength));
  const chunkIdLength = Buffer.byteLength(first.chunkId, 'utf8');
  return (
    (jsonRunLength === 0 ? 0 : lengthDelimitedSize(jsonRunLength)) +
    1 +
    varintSize(chunkSize) +
    (chunkIdLength === 0 ? 0 : lengthDelimitedSize(chunkIdLength)) +
    1 +
    varintSize(dataLength)
  );
}

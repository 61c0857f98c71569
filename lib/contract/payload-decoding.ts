import { TYPED_ARRAY_BY_DTYPE, type NdArray } from '../ndarray.js';
import { readArrow } from './arrow-ipc.js';
import { pb, type Encoding } from './bridge-connection.js';

type ArrayInfo = { readonly dtype: string; readonly shape: readonly number[] };

/** An attachment as the generated `Attachment` message has it. */
export interface AttachmentMessage {
  readonly data: Uint8Array;
  readonly encoding: Encoding;
  readonly has_array: boolean;
  readonly array: ArrayInfo;
  readonly chunk: number;
  readonly placeholder: string;
}

export function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

function decodeArray(bytes: Uint8Array, info: ArrayInfo | undefined): NdArray {
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

/** The JavaScript value of a payload: JSON value, `Uint8Array`, `NdArray`, or Arrow `Table`/`RecordBatch`. No copy for binary data. */
export function decodePayload(encoding: Encoding, bytes: Uint8Array, array: ArrayInfo | undefined): unknown {
  switch (encoding) {
    case pb.Encoding.ENCODING_BYTES:
      return bytes;
    case pb.Encoding.ENCODING_NDARRAY:
      return decodeArray(bytes, array);
    case pb.Encoding.ENCODING_ARROW_TABLE:
      return readArrow(bytes, false);
    case pb.Encoding.ENCODING_ARROW_RECORD_BATCH:
      return readArrow(bytes, true);
    case pb.Encoding.ENCODING_JSON:
      return decodeJson(bytes);
    default:
      throw new TypeError(`unknown encoding ${String(encoding)}`);
  }
}

function decodeAttachment(attachment: AttachmentMessage): unknown {
  if (attachment.encoding === pb.Encoding.ENCODING_JSON) throw new TypeError('an attachment cannot be JSON');
  return decodePayload(attachment.encoding, attachment.data, attachment.has_array ? attachment.array : undefined);
}

/** Replaces, in place, each string value equal to a key of `found`; counts what it replaced. */
function place(value: object, found: ReadonlyMap<string, unknown>, replaced: { count: number }): void {
  const replace = (key: string | number, item: unknown): void => {
    if (typeof item === 'string') {
      const binary = found.get(item);
      if (binary === undefined) return;
      // defineProperty, not assignment: JSON.parse makes "__proto__" an own key, which assigning would not set.
      Object.defineProperty(value, key, { value: binary, writable: true, enumerable: true, configurable: true });
      replaced.count += 1;
    } else if (typeof item === 'object' && item !== null) {
      place(item, found, replaced);
    }
  };
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) replace(index, value[index]);
  } else {
    for (const key of Object.keys(value)) replace(key, (value as Record<string, unknown>)[key]);
  }
}

/** The bytes of the attachments' data (their binary values), as they travel. */
export function attachedBytes(attachments: readonly { readonly data: Uint8Array }[]): number {
  let bytes = 0;
  for (const attachment of attachments) bytes += attachment.data.byteLength;
  return bytes;
}

/**
 * A decoded JSON value with its attachments (proto/bridge.proto's
 * `Attachment`) in place: each string equal to an attachment's placeholder
 * becomes that attachment's value, viewing the message's buffer. Walks only
 * values that have attachments. Throws when a placeholder is missing or
 * appears more than once: the sender is not following the contract.
 */
export function withAttachments(value: unknown, attachments: readonly AttachmentMessage[]): unknown {
  if (attachments.length === 0) return value;
  const found = new Map<string, unknown>();
  for (const attachment of attachments) found.set(attachment.placeholder, decodeAttachment(attachment));
  if (found.size !== attachments.length) throw new TypeError('two attachments have the same placeholder');
  if (typeof value === 'string' && found.has(value) && attachments.length === 1) return found.get(value);
  const replaced = { count: 0 };
  if (typeof value === 'object' && value !== null) place(value, found, replaced);
  if (replaced.count !== attachments.length) {
    throw new TypeError(`${attachments.length} attachments, but ${replaced.count} placeholders in the value`);
  }
  return value;
}

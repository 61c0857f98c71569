import { randomBytes } from 'node:crypto';
import { memberPath } from '../argument-path.js';
import { isNdArray } from '../ndarray.js';
import { isArrowRecordBatch, isArrowTable, writeArrow } from './arrow-ipc.js';
import { pb, type Encoding } from './bridge-connection.js';

/** A binary value as it travels: its bytes, how to read them, and for arrays their dtype and shape. */
export interface BinaryValue {
  readonly encoding: Encoding;
  readonly data: Uint8Array;
  readonly array?: { readonly dtype: string; readonly shape: readonly number[] } | undefined;
}

/** Which values travel raw (`is`, cheap), and their form (`encode`, which may throw to refuse one at its path). */
export interface BinaryKind {
  is(value: object): boolean;
  encode(value: object, path: string): BinaryValue;
}

/** JSON text with the binary values inside it replaced by placeholders, and those values as attachments. */
export interface WithAttachments {
  readonly json: string;
  readonly attachments: InstanceType<typeof pb.Attachment>[];
}

const MARKER = '\u0000snakepit-attachment:';
const ATTEMPTS = 3;

/**
 * Replaces each value `binaryOf` says travels raw by a placeholder string
 * (proto/bridge.proto's `Attachment`), in a copy of the containers on the
 * way to it; the others are not copied. Returns undefined when the value has
 * no binary value, so that the usual value costs one walk.
 */
function replaceBinaries(value: unknown, path: string, binary: BinaryKind, found: BinaryValue[], marker: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  if (binary.is(value)) {
    found.push(binary.encode(value, path));
    return `${marker}${found.length - 1}`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const replaced = replaceBinaries(item, memberPath(path, index), binary, found, marker);
      if (replaced === undefined) return;
      copy ??= [...(value as unknown[])];
      copy[index] = replaced;
    });
    return copy;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const replaced = replaceBinaries(item, memberPath(path, key), binary, found, marker);
    if (replaced === undefined) continue;
    copy ??= { ...value };
    // defineProperty: a "__proto__" key must stay an own key of the copy.
    Object.defineProperty(copy, key, { value: replaced, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

/** Whether the value holds a binary value at any depth: the usual value's one walk, without building paths. */
export function containsBinary(value: unknown, binary: BinaryKind): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (binary.is(value)) return true;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (containsBinary(item, binary)) return true;
    return false;
  }
  for (const key in value) if (Object.hasOwn(value, key) && containsBinary((value as Record<string, unknown>)[key], binary)) return true;
  return false;
}

function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) count += 1;
  return count;
}

/**
 * A value as JSON (by `stringify`) whose binary values travel as attachments
 * with placeholders in their place, found by value on the other side. A
 * placeholder holds a random part, and the text is checked to hold each one
 * once, so that no string of the value's is taken for one (a clash picks
 * another random part). Returns undefined when the value holds no binary value.
 */
export function withAttachments(
  value: unknown,
  path: string,
  binary: BinaryKind,
  stringify: (value: unknown) => string,
): WithAttachments | undefined {
  if (!containsBinary(value, binary)) return undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const marker = `${MARKER}${randomBytes(8).toString('hex')}:`;
    const found: BinaryValue[] = [];
    const replaced = replaceBinaries(value, path, binary, found, marker);
    const json = stringify(replaced ?? value);
    // JSON.stringify writes the marker's NUL as \u0000.
    if (occurrences(json, JSON.stringify(marker).slice(1, -1)) !== found.length) continue;
    const attachments = found.map(
      (binary, index) =>
        new pb.Attachment({
          data: binary.data,
          encoding: binary.encoding,
          placeholder: `${marker}${index}`,
          ...(binary.array === undefined ? {} : { array: new pb.ArrayInfo({ dtype: binary.array.dtype, shape: [...binary.array.shape] }) }),
        }),
    );
    return { json, attachments };
  }
  throw new TypeError(`${path} holds strings that look like attachment placeholders`);
}

/** The binary values the pool decodes from its workers (and the bridge server and HTTP handler send on): bytes, NdArrays, Arrow tables and record batches. */
export const DECODED_BINARY: BinaryKind = {
  is: (value) => value instanceof Uint8Array || isNdArray(value) || isArrowTable(value) || isArrowRecordBatch(value),
  encode(value): BinaryValue {
    if (value instanceof Uint8Array) return { encoding: pb.Encoding.ENCODING_BYTES, data: value };
    if (isNdArray(value)) {
      return {
        encoding: pb.Encoding.ENCODING_NDARRAY,
        data: new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength),
        array: { dtype: value.dtype, shape: value.shape },
      };
    }
    if (isArrowTable(value)) return { encoding: pb.Encoding.ENCODING_ARROW_TABLE, data: writeArrow(value) };
    if (isArrowRecordBatch(value)) return { encoding: pb.Encoding.ENCODING_ARROW_RECORD_BATCH, data: writeArrow(value) };
    throw new TypeError('not a binary value');
  },
};

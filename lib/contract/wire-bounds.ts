/**
 * A walk over a message's protobuf wire format that refuses, before
 * google-protobuf reads it, anything that would make it read past the
 * buffer.
 *
 * google-protobuf trusts lengths: a string field claiming 2^32 bytes in a
 * 6-byte message makes it build a string of four billion characters from
 * bytes that are not there, which blocks the event loop for minutes. It
 * also reads each known field the way the schema says, whatever wire type
 * the sender used, so a varint where a string belongs is read as a length.
 * The walk checks every length against what is left of its buffer, every
 * known field's wire type, and descends into the submessages the schema
 * names. It reads tags and lengths only, never payloads, so it costs a few
 * nanoseconds per field (`npm run bench`, workload 12).
 */

/** How a known field must be encoded. */
export type FieldKind =
  /** A varint (int, bool, enum). */
  | 'varint'
  /** Length-delimited bytes read as a whole (string, bytes). */
  | 'bytes'
  /** Length-delimited varints (a packed repeated integer). */
  | 'packed'
  /** Length-delimited submessage, walked with its own schema. */
  | WireSchema;

/** The known fields of a message, by field number. */
export interface WireSchema {
  readonly [field: number]: FieldKind;
}

const VARINT = 0;
const FIXED64 = 1;
const DELIMITED = 2;
const FIXED32 = 5;
/** Submessages nest a few levels in our contract; a sender nesting unknown fields deeper is refused. */
const MAX_NESTING = 32;

/** The sender broke the wire format; the message names what and where. */
export class MalformedMessage extends Error {
  override readonly name = 'MalformedMessage';
}

/** The value of the varint `readVarint` read last: returning positions alone keeps the walk free of allocations. */
let varintValue = 0;

/** Reads a varint of at most 10 bytes that ends before `end` into `varintValue` (exact up to 2^53); returns where it ends. */
function readVarint(bytes: Uint8Array, position: number, end: number): number {
  if (position < end && bytes[position]! < 0x80) {
    varintValue = bytes[position]!;
    return position + 1;
  }
  let value = 0;
  let scale = 1;
  for (let read = 0; read < 10; read += 1) {
    if (position >= end) throw new MalformedMessage(`a varint runs past the end of the message at byte ${position}`);
    const byte = bytes[position++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varintValue = value;
      return position;
    }
    scale *= 0x80;
  }
  throw new MalformedMessage(`a varint longer than 10 bytes at byte ${position - 10}`);
}

/** Where `length` bytes from `position` end, if they end by `end`. */
function skip(position: number, length: number, end: number, field: number): number {
  if (length > end - position) {
    throw new MalformedMessage(`field ${field} claims ${length} bytes at byte ${position}, but ${end - position} are left`);
  }
  return position + length;
}

function walk(bytes: Uint8Array, start: number, end: number, schema: WireSchema, depth: number): void {
  if (depth > MAX_NESTING) throw new MalformedMessage(`submessages nested deeper than ${MAX_NESTING}`);
  let position = start;
  while (position < end) {
    position = readVarint(bytes, position, end);
    const tag = varintValue;
    // Field numbers stop at 2^29 - 1, so a valid tag fits in 32 bits.
    if (tag > 0xffffffff || tag < 8) throw new MalformedMessage(`invalid tag ${tag}`);
    const field = tag >>> 3;
    const wireType = tag & 7;
    const kind = schema[field];
    if (kind !== undefined) {
      const expected = kind === 'varint' ? VARINT : DELIMITED;
      if (wireType !== expected) throw new MalformedMessage(`field ${field} has wire type ${wireType}, expected ${expected}`);
    }
    switch (wireType) {
      case VARINT:
        position = readVarint(bytes, position, end);
        break;
      case FIXED64:
        position = skip(position, 8, end, field);
        break;
      case FIXED32:
        position = skip(position, 4, end, field);
        break;
      case DELIMITED: {
        position = readVarint(bytes, position, end);
        const from = position;
        position = skip(position, varintValue, end, field);
        if (kind === 'packed') {
          for (let inner = from; inner < position;) inner = readVarint(bytes, inner, position);
        } else if (typeof kind === 'object') {
          walk(bytes, from, position, kind, depth + 1);
        }
        break;
      }
      default:
        // Groups (3, 4) are proto2-only, 6 and 7 do not exist.
        throw new MalformedMessage(`field ${field} has wire type ${wireType}, which this contract never uses`);
    }
  }
}

/** Throws a {@link MalformedMessage} unless every length in `bytes` stays inside it and known fields have their wire types. */
export function checkWireBounds(bytes: Uint8Array, schema: WireSchema): void {
  walk(bytes, 0, bytes.byteLength, schema, 0);
}

/** The schemas of proto/bridge.proto's messages (spec/wire-bounds.spec.ts checks them against the generated code). */
const ARRAY_INFO: WireSchema = { 1: 'bytes', 2: 'packed' };
const MAP_ENTRY: WireSchema = { 1: 'bytes', 2: 'bytes' };
const ATTACHMENT: WireSchema = { 1: 'bytes', 2: 'bytes', 3: 'varint', 4: ARRAY_INFO, 5: 'varint', 6: 'bytes' };
const TOOL_CHUNK: WireSchema = { 1: 'bytes', 2: 'bytes', 3: 'varint', 4: MAP_ENTRY, 5: 'varint', 6: ARRAY_INFO, 7: ATTACHMENT };
const PARAMETER_SPEC: WireSchema = { 1: 'bytes', 2: 'bytes', 3: 'varint', 4: 'bytes' };
const TOOL_SPEC: WireSchema = { 1: 'bytes', 2: 'bytes', 3: PARAMETER_SPEC, 4: 'varint', 5: 'bytes', 6: 'bytes' };
const EXECUTE_TOOL_REQUEST: WireSchema = { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'bytes', 6: ATTACHMENT };
const EXECUTE_TOOL_RESPONSE: WireSchema = { 1: 'bytes', 2: 'bytes', 3: 'varint', 4: ARRAY_INFO, 5: ATTACHMENT };
const CHUNK_BATCH: WireSchema = { 1: 'bytes', 2: 'bytes', 3: TOOL_CHUNK, 4: ATTACHMENT };
const HOST_TOOL_CALL: WireSchema = { 1: 'varint', 2: 'bytes', 3: 'bytes' };
const HOST_TOOL_RESULT: WireSchema = { 1: 'varint', 2: 'bytes', 3: { 1: 'bytes', 2: 'bytes' } };

export const WIRE_SCHEMAS = {
  PingRequest: { 1: 'bytes' },
  PingResponse: { 1: 'bytes', 2: 'bytes', 3: 'varint', 4: 'varint' },
  ListToolsRequest: {},
  ListToolsResponse: { 1: TOOL_SPEC, 2: 'bytes' },
  ExecuteToolRequest: EXECUTE_TOOL_REQUEST,
  ExecuteToolResponse: EXECUTE_TOOL_RESPONSE,
  ToolChunk: TOOL_CHUNK,
  ChunkBatch: CHUNK_BATCH,
  HostMessage: { 1: EXECUTE_TOOL_REQUEST, 2: HOST_TOOL_RESULT },
  ToolMessage: { 1: CHUNK_BATCH, 2: EXECUTE_TOOL_RESPONSE, 3: HOST_TOOL_CALL },
  AwaitCallRequest: { 1: 'bytes', 2: 'varint' },
  AwaitCallResponse: { 1: 'varint' },
  ErrorDetail: { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'bytes', 6: 'bytes' },
} as const satisfies Record<string, WireSchema>;

/** A message type of the contract. */
export type WireMessageName = keyof typeof WIRE_SCHEMAS;

import { withAttachments } from '../contract/attachment-encoding.js';
import type { pb } from '../contract/bridge-connection.js';
import { attachedBytes } from '../contract/payload-decoding.js';
import { memberPath, quotedPath } from '../argument-path.js';
import { SnakepitError } from '../errors.js';
import { ARGUMENT_BINARY } from './binary-arguments.js';
import { stringifyKeepingNumbers } from '../json-text.js';
import type { CallLimits } from '../public-types.js';

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `a ${value.constructor.name}`;
  if (value instanceof Error) return /^[AEIOU]/.test(value.name) ? `an ${value.name}` : `a ${value.name}`;
  if (value instanceof Promise) return 'a Promise';
  if (value instanceof RegExp) return 'a RegExp';
  if (value instanceof WeakMap) return 'a WeakMap';
  if (value instanceof WeakSet) return 'a WeakSet';
  return typeof value;
}

/** Objects whose contents JSON.stringify does not see, so that they would arrive as `{}`. */
function isOpaqueObject(value: object): boolean {
  return (
    value instanceof Map ||
    value instanceof Set ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof Error ||
    value instanceof Promise ||
    value instanceof RegExp ||
    value instanceof WeakMap ||
    value instanceof WeakSet
  );
}

const JSON_HINT = 'values travel as JSON: use objects, arrays, strings, finite numbers, booleans and null';
const INTEGER_HINT = 'pass it as a string (String(n), for a BigInt too) and convert it in the tool';

function refuse(path: string, reason: string, hint = JSON_HINT): never {
  throw new SnakepitError('invalid_arguments', `${quotedPath(path)} ${reason}`, { hint });
}

function refuseDepth(path: string, maxDepth: number): never {
  refuse(
    path,
    `nests objects and arrays deeper than ${maxDepth} levels`,
    'flatten the arguments, or raise the pool option maxArgumentDepth',
  );
}

function refuseSize(bytes: number, maxBytes: number, binaryBytes = 0): never {
  refuse(
    'arguments',
    `are ${bytes} bytes as JSON${binaryBytes > 0 ? ` (binary values included, ${binaryBytes} bytes of them)` : ''}, over the ${maxBytes}-byte limit`,
    'send large data in pieces or by reference, or raise the pool option maxArgumentBytes',
  );
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of objects and arrays in JSON text, read from its
 * bytes without parsing it (so without the recursion a parser or a walk over
 * the parsed value would need); counting stops past `max`.
 */
export function jsonNestingDepth(json: Uint8Array, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < json.length; index += 1) {
    const byte = json[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth += 1;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * The one check of encoded arguments against a pool's limits, on every
 * path: size first, then nesting, so that nothing large or deep is parsed.
 * Throws `invalid_arguments`.
 */
export function checkEncodedArguments(json: Uint8Array, limits: CallLimits, binaryBytes = 0): void {
  const bytes = json.byteLength + binaryBytes;
  if (bytes > limits.maxArgumentBytes) refuseSize(bytes, limits.maxArgumentBytes, binaryBytes);
  if (jsonNestingDepth(json, limits.maxArgumentDepth) > limits.maxArgumentDepth) refuseDepth('arguments', limits.maxArgumentDepth);
}

/**
 * Whether JSON.stringify writes the number as an integer beyond ±(2^53-1),
 * which Python would take as an exact int although JavaScript may have
 * rounded it (12345678901234567890 is 12345678901234567168 here). From
 * 1e21 on, JSON.stringify writes exponents, which Python reads as floats:
 * those travel, as every other double does.
 */
function isUnsafeJsonInteger(value: number): boolean {
  return (value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER) && Math.abs(value) < 1e21;
}

/** What the walk needs and learns on the way besides refusals. */
interface CheckState {
  readonly ancestors: object[];
  readonly maxDepth: number;
  /** Whether binary values may travel (as attachments), rather than being refused. */
  readonly binaries: boolean;
  /** Binary values met, which travel beside the JSON. */
  binaryCount: number;
  /** JSON.stringify would write -0 as 0. */
  negativeZero: boolean;
  /** A toJSON was met: what it returns is known only once encoded, so its nesting is checked on the JSON text. */
  toJson: boolean;
}

/**
 * Checks what JSON.stringify would write for a value with a toJSON: what that
 * returns (called with the key, as JSON.stringify calls it), which it writes
 * as it writes any value but without calling a toJSON of that value again.
 */
function checkToJson(value: { toJSON: (key: string) => unknown }, path: string, state: CheckState, key: string): void {
  state.toJson = true;
  // Date's toJSON gives null for an invalid date, which would arrive as a valid null.
  if (value instanceof Date && Number.isNaN(value.getTime())) refuse(path, 'is an invalid Date, which JSON would encode as null');
  let replaced: unknown;
  try {
    replaced = value.toJSON(key);
  } catch (error) {
    refuse(path, `cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (replaced === undefined) refuse(path, 'encodes as nothing (a toJSON returned undefined)');
  // Binary values there would be written by JSON's rules (Buffer's toJSON has run), not as attachments.
  const inner: CheckState = { ...state, binaries: false };
  check(replaced, path, inner, key, true);
  state.negativeZero ||= inner.negativeZero;
}

/**
 * Checks that the value survives JSON unchanged, so that nothing is silently
 * dropped or altered on the way: JSON.stringify would turn a function into
 * nothing, NaN into null, a Map into {} and an empty slot of an array into
 * null. Refuses nesting deeper than the limit before it could exhaust a
 * stack. `key` is the value's key in its parent, as a toJSON receives it;
 * `replaced` says that the value is what a toJSON returned.
 */
function check(value: unknown, path: string, state: CheckState, key = '', replaced = false): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `is ${describe(value)}, which JSON cannot represent`);
      if (isUnsafeJsonInteger(value)) {
        refuse(path, `is ${describe(value)}, an integer beyond ±(2^53-1): JavaScript may already have rounded it`, INTEGER_HINT);
      }
      if (value === 0 && Object.is(value, -0)) state.negativeZero = true;
      return;
    case 'object':
      break;
    default:
      refuse(path, `is ${describe(value)}, which JSON cannot represent`);
  }
  if (value === null) return;
  const { ancestors } = state;
  if (ancestors.includes(value)) refuse(path, 'refers back to itself (a cycle)');
  // Before toJSON: a Buffer has one, which would turn it into {"type": "Buffer", "data": [...]}.
  if (state.binaries && ARGUMENT_BINARY.is(value)) {
    // Checked here, where the path is known; encoded in withAttachments.
    ARGUMENT_BINARY.encode(value, path);
    state.binaryCount += 1;
    return;
  }
  // Where binary values cannot travel, a Buffer's toJSON would make {"type": "Buffer", "data": [...]} of it.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    refuse(
      path,
      `is ${describe(value)}, which JSON would encode as ${value instanceof Buffer ? '{"type": "Buffer", ...}' : '{}'}; convert it first`,
    );
  }
  if (!replaced && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    checkToJson(value as { toJSON: (key: string) => unknown }, path, state, key);
    return;
  }
  // JSON.stringify writes a boxed number as the number it holds (a boxed NaN as null).
  if (value instanceof Number) {
    check(value.valueOf(), path, state);
    return;
  }
  if (value instanceof Promise) refuse(path, 'is a Promise, which JSON would encode as {}; await it first');
  if (isOpaqueObject(value)) refuse(path, `is ${describe(value)}, which JSON would encode as {}; convert it first`);
  if (ancestors.length >= state.maxDepth) refuseDepth(path, state.maxDepth);
  ancestors.push(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      if (!(index in value)) refuse(memberPath(path, index), 'is an empty slot of a sparse array, which JSON would encode as null');
      check(value[index], memberPath(path, index), state, String(index));
    }
  } else {
    for (const [name, item] of Object.entries(value)) {
      // An undefined property is an argument left out, as JSON.stringify treats it.
      if (item !== undefined) check(item, memberPath(path, name), state, name);
    }
  }
  ancestors.pop();
}

/**
 * Keyword arguments already encoded as a JSON object, passed to the worker
 * byte for byte: the bridge server relays its clients' arguments so, since
 * decoding them in JavaScript would change them (1.0 would become 1). The
 * worker checks them itself (integers beyond 2^53 are refused there).
 */
export class EncodedArguments {
  constructor(
    readonly json: Uint8Array,
    /** The binary arguments the client sent beside the JSON, relayed as they came. */
    readonly attachments: readonly InstanceType<typeof pb.Attachment>[] = [],
  ) {}
}

/** A call's arguments as they travel: JSON, and the binary values inside it as attachments. */
export interface EncodedArgumentsPayload {
  readonly json: Uint8Array;
  readonly attachments: InstanceType<typeof pb.Attachment>[];
}

/**
 * Encodes a value as JSON (a host tool's result, keyword arguments), or
 * throws `invalid_arguments` naming (from `path`) the first value JSON would
 * change, or saying that it nests deeper than `maxDepth`.
 */
export function encodeJson(value: unknown, path: string, maxDepth: number): Buffer {
  return encodeWithBinaries(value, path, maxDepth, false).json;
}

/** JSON, and the binary values inside it as attachments when `binaries` allows them (else they are refused). */
function encodeWithBinaries(value: unknown, path: string, maxDepth: number, binaries: boolean): EncodedArgumentsPayload & { json: Buffer } {
  const state: CheckState = { ancestors: [], maxDepth, binaries, binaryCount: 0, negativeZero: false, toJson: false };
  check(value, path, state);
  const stringify = (checked: unknown): string | undefined =>
    state.negativeZero ? stringifyKeepingNumbers(checked) : JSON.stringify(checked);
  let text: string | undefined;
  let attachments: InstanceType<typeof pb.Attachment>[] = [];
  try {
    const attached =
      state.binaryCount > 0 ? withAttachments(value, path, ARGUMENT_BINARY, (checked) => stringify(checked) ?? '') : undefined;
    if (attached === undefined) text = stringify(value);
    else ({ json: text, attachments } = attached);
  } catch (error) {
    if (error instanceof SnakepitError) throw error;
    // A toJSON that throws, or returns something too deep for the encoder's stack.
    refuse(path, `cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (text === undefined) refuse(path, 'encodes as nothing (a toJSON returned undefined)');
  const json = Buffer.from(text, 'utf8');
  if (state.toJson && jsonNestingDepth(json, maxDepth) > maxDepth) refuseDepth(path, maxDepth);
  return { json, attachments };
}

/**
 * Encodes keyword arguments (an object: `ToolArguments`, or the arguments
 * type of a described tool) as JSON, or throws `invalid_arguments` naming
 * the first offending value, or saying that they nest too deep or weigh too
 * much for `limits`. Encoded arguments are checked against the limits too.
 * JavaScript callers may pass anything, so it takes anything.
 */
export function encodeArguments(args: unknown, limits: CallLimits): EncodedArgumentsPayload {
  if (args instanceof EncodedArguments) {
    checkEncodedArguments(args.json, limits, attachedBytes(args.attachments));
    return { json: args.json, attachments: [...args.attachments] };
  }
  if (args === undefined || args === null) return { json: Buffer.alloc(0), attachments: [] };
  if (typeof args !== 'object' || Array.isArray(args)) {
    refuse('arguments', `must be an object of keyword arguments, got ${Array.isArray(args) ? 'an array' : describe(args)}`);
  }
  const encoded = encodeWithBinaries(args, 'arguments', limits.maxArgumentDepth, true);
  const binaryBytes = attachedBytes(encoded.attachments);
  const bytes = encoded.json.byteLength + binaryBytes;
  if (bytes > limits.maxArgumentBytes) refuseSize(bytes, limits.maxArgumentBytes, binaryBytes);
  return encoded;
}

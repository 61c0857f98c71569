import { SnakepitError } from '../errors.js';
import { hasSpecialNumbers, stringifyKeepingNumbers } from '../json-text.js';
import { binaryArgument } from '../ndarray.js';
import type { WireBinaryAt } from './wire-format.js';

function refuse(reason: string): never {
  throw new SnakepitError('invalid_arguments', `arguments ${reason}`, {
    hint: 'arguments travel as JSON: use objects, arrays, strings, finite numbers, booleans and null',
  });
}

function kindOf(value: unknown): string | undefined {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `a ${value.constructor.name}`;
  return undefined;
}

type Base64Encoder = (this: Uint8Array) => string;
// Uint8Array.prototype.toBase64 (TC39, in recent browsers) is much faster than btoa; older runtimes get btoa.
const nativeToBase64 = (Uint8Array.prototype as unknown as { toBase64?: Base64Encoder }).toBase64;

function toBase64(bytes: Uint8Array): string {
  if (nativeToBase64 !== undefined) return nativeToBase64.call(bytes);
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

/** A binary argument as base64 text and what it is; undefined for a value that travels as JSON. */
function binaryArgumentAt(value: unknown, path: readonly (string | number)[]): { text: string; binary: WireBinaryAt } | undefined {
  const binary = binaryArgument(value);
  if (binary === undefined) return undefined;
  if ('refused' in binary) refuse(`hold ${binary.refused}; pass a Uint8Array, a typed array or an NdArray`);
  if (binary.encoding === 'bytes') return { text: toBase64(binary.bytes), binary: { encoding: 'bytes', path } };
  return { text: toBase64(binary.bytes), binary: { encoding: 'ndarray', dtype: binary.dtype, shape: binary.shape, path } };
}

/** The value with its binary values replaced by base64 text (in copies of the containers on the way), and where each was. */
function inlineBinaries(value: unknown, path: (string | number)[], found: WireBinaryAt[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const binary = binaryArgumentAt(value, [...path]);
  if (binary !== undefined) {
    found.push(binary.binary);
    return binary.text;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (Array.isArray(value)) return value.map((item: unknown, index) => inlineBinaries(item, [...path, index], found));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(copy, key, {
      value: inlineBinaries(item, [...path, key], found),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return copy;
}

function holdsBinary(value: unknown, depth = 0): boolean {
  // Past any sane depth (a cycle), JSON.stringify says what is wrong.
  if (typeof value !== 'object' || value === null || depth > 256) return false;
  if (binaryArgument(value) !== undefined) return true;
  return Object.values(value).some((item) => holdsBinary(item, depth + 1));
}

/**
 * The arguments as JSON text, with their binary values (a `Uint8Array`, a
 * typed array, an NdArray) as base64 text, and where those are, for the
 * request body's `binaries`.
 */
export function encodeArguments(args: unknown): { readonly json: string; readonly binaries: readonly WireBinaryAt[] } {
  if (!holdsBinary(args)) return { json: encodeJsonArguments(args), binaries: [] };
  const binaries: WireBinaryAt[] = [];
  const inlined = inlineBinaries(args, [], binaries);
  return { json: encodeJsonArguments(inlined), binaries };
}

/**
 * The arguments as JSON text, refusing what JSON would silently drop or
 * change (NaN, functions, Maps, typed arrays, `undefined` in arrays), as the
 * pool refuses it in Node.
 */
export function encodeJsonArguments(args: unknown): string {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    refuse(`must be an object of keyword arguments, got ${Array.isArray(args) ? 'an array' : typeof args}`);
  }
  let text: string;
  try {
    text = JSON.stringify(args, function (this: unknown, key: string, value: unknown) {
      const kind = kindOf(value);
      if (kind !== undefined) refuse(`hold ${kind} at ${JSON.stringify(key)}, which JSON cannot represent`);
      if (value === undefined && Array.isArray(this)) refuse('hold undefined in an array, which JSON would turn into null');
      return value;
    });
  } catch (error) {
    if (error instanceof SnakepitError) throw error;
    // JSON.stringify's own refusals: a BigInt, a cycle.
    refuse(`cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  // -0 and numbers beyond ±(2^53-1) as the floats they are, as the pool writes them in Node.
  return hasSpecialNumbers(args) ? stringifyKeepingNumbers(args) : text;
}

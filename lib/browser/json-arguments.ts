import { memberPath, quotedPath } from '../argument-path.js';
import { SnakepitError } from '../errors.js';
import { hasSpecialNumbers, stringifyKeepingNumbers } from '../json-text.js';
import { binaryArgument } from '../ndarray.js';
import type { WireBinaryAt } from './wire-format.js';

const JSON_HINT = 'arguments travel as JSON: use objects, arrays, strings, finite numbers, booleans and null';
const BINARY_HINT = 'pass bytes as a Uint8Array, arrays as a typed array or an NdArray { dtype, shape, data }';

/** Refuses the arguments, naming the path (`arguments.x.y[1]`) of what is wrong, as the pool does. */
function refuse(path: string, reason: string, hint = JSON_HINT): never {
  throw new SnakepitError('invalid_arguments', `${quotedPath(path)} ${reason}`, { hint });
}

const pathText = (path: readonly (string | number)[]): string => path.reduce<string>(memberPath, 'arguments');

function kindOf(value: unknown): string | undefined {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `a ${value.constructor.name}`;
  if (value instanceof Promise) return 'a Promise';
  if (value instanceof RegExp) return 'a RegExp';
  if (value instanceof Error) return /^[AEIOU]/.test(value.name) ? `an ${value.name}` : `a ${value.name}`;
  if (value instanceof WeakMap) return 'a WeakMap';
  if (value instanceof WeakSet) return 'a WeakSet';
  return undefined;
}

/** A replacer sees what a toJSON returned: an invalid Date's is null, which would arrive as a valid null. */
function isInvalidDate(holder: unknown, key: string): boolean {
  const original = (holder as Record<string, unknown> | null | undefined)?.[key];
  return original instanceof Date && Number.isNaN(original.getTime());
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
function binaryArgumentAt(value: object, path: readonly (string | number)[]): { text: string; binary: WireBinaryAt } | undefined {
  const binary = binaryArgument(value);
  if (binary === undefined) return undefined;
  if ('refused' in binary) refuse(pathText(path), `is ${binary.refused}`, BINARY_HINT);
  const at = [...path];
  if (binary.encoding === 'bytes') return { text: toBase64(binary.bytes), binary: { encoding: 'bytes', path: at } };
  return { text: toBase64(binary.bytes), binary: { encoding: 'ndarray', dtype: binary.dtype, shape: binary.shape, path: at } };
}

/** Where the walk is: the keys from the root, and the objects on the way (a cycle returns to one of them). */
interface Walk {
  readonly path: (string | number)[];
  readonly ancestors: object[];
  readonly found: WireBinaryAt[];
}

/**
 * The value with its binary values replaced by base64 text, in copies of
 * the containers on the way to them (the others are not copied), and where
 * each was; undefined when it holds none, so that the usual value costs one
 * walk. Refuses a cycle, which JSON cannot represent, where it closes.
 */
function inlineBinaries(value: unknown, walk: Walk): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const { path, ancestors } = walk;
  const binary = binaryArgumentAt(value, path);
  if (binary !== undefined) {
    walk.found.push(binary.binary);
    return binary.text;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (ancestors.includes(value)) refuse(pathText(path), 'refers back to itself (a cycle)');
  ancestors.push(value);
  const copy = Array.isArray(value) ? inlineInArray(value as unknown[], walk) : inlineInObject(value, walk);
  ancestors.pop();
  return copy;
}

function inlineInArray(array: readonly unknown[], walk: Walk): unknown[] | undefined {
  let copy: unknown[] | undefined;
  for (let index = 0; index < array.length; index += 1) {
    const replaced = inlineMember(array[index], index, walk);
    if (replaced !== undefined) (copy ??= [...array])[index] = replaced;
  }
  return copy;
}

function inlineInObject(object: object, walk: Walk): object | undefined {
  let copy: object | undefined;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const replaced = inlineMember((object as Record<string, unknown>)[key], key, walk);
    if (replaced === undefined) continue;
    copy ??= { ...object };
    // defineProperty: a "__proto__" key must stay an own key of the copy.
    Object.defineProperty(copy, key, { value: replaced, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

function inlineMember(item: unknown, key: string | number, walk: Walk): unknown {
  if (typeof item !== 'object' || item === null) return undefined;
  walk.path.push(key);
  const replaced = inlineBinaries(item, walk);
  walk.path.pop();
  return replaced;
}

/** What the arguments are when they are not keyword arguments (an object of them); undefined when they are. */
function notKeywordArguments(args: unknown): string | undefined {
  if (Array.isArray(args)) return 'an array';
  if (typeof args !== 'object' || args === null) return args === null ? 'null' : typeof args;
  return binaryArgument(args) === undefined ? undefined : 'a binary value';
}

/**
 * A replacer for JSON.stringify that refuses what JSON would silently drop or
 * change, naming where it is (`arguments.p.q[1]`), as the pool refuses it in
 * Node. A replacer sees only a key and the object holding it: each object's
 * path is kept as it is met, so that its members' follow from it.
 */
function lossRefuser(): (this: unknown, key: string, value: unknown) => unknown {
  const paths = new Map<unknown, string>();
  return function refuseLosses(this: unknown, key: string, value: unknown): unknown {
    const kind = kindOf(value);
    const undefinedInArray = value === undefined && Array.isArray(this);
    const isObject = typeof value === 'object' && value !== null;
    const invalidDate = value === null && isInvalidDate(this, key);
    // Paths are built for objects and refusals only: the usual number or string costs nothing more.
    if (kind === undefined && !undefinedInArray && !isObject && !invalidDate) return value;
    const holder = paths.get(this);
    // The root is the one value whose holder has no path: JSON.stringify's wrapper, { "": value }.
    const path = holder === undefined ? 'arguments' : memberPath(holder, Array.isArray(this) ? Number(key) : key);
    if (kind === 'a Promise') refuse(path, 'is a Promise, which JSON would encode as {}; await it first');
    if (kind !== undefined) {
      refuse(path, `is ${kind}, ${isObject ? 'which JSON would encode as {}; convert it first' : 'which JSON cannot represent'}`);
    }
    if (invalidDate) refuse(path, 'is an invalid Date, which JSON would encode as null');
    if (undefinedInArray) refuse(path, 'is undefined in an array, which JSON would turn into null');
    paths.set(value, path);
    return value;
  };
}

/**
 * The arguments as JSON text, with their binary values (a `Uint8Array`, a
 * typed array, an NdArray) as base64 text, and where those are, for the
 * request body's `binaries`. Refuses, as the pool does in Node, what JSON
 * would silently drop or change (NaN, functions, Maps, Sets, `undefined` in
 * arrays, a cycle) and binary values it cannot send (a DataView, an
 * NdArray whose data does not match its dtype or shape).
 */
export function encodeArguments(args: unknown): { readonly json: string; readonly binaries: readonly WireBinaryAt[] } {
  const kind = notKeywordArguments(args);
  if (kind !== undefined) refuse('arguments', `must be an object of keyword arguments, got ${kind}`);
  const walk: Walk = { path: [], ancestors: [], found: [] };
  let json: string;
  try {
    const inlined = inlineBinaries(args, walk) ?? args;
    json = JSON.stringify(inlined, lossRefuser());
    // -0 and numbers beyond ±(2^53-1) as the floats they are, as the pool writes them in Node.
    if (hasSpecialNumbers(inlined)) json = stringifyKeepingNumbers(inlined);
  } catch (error) {
    if (error instanceof SnakepitError) throw error;
    // JSON.stringify's own refusals (a BigInt), and nesting too deep for the stack.
    refuse('arguments', `cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { json, binaries: walk.found };
}

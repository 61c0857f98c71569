import { SnakepitError } from '../errors.js';
import { hasSpecialNumbers, stringifyKeepingNumbers } from '../json-text.js';

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

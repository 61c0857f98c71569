import { SnakepitError } from '../errors.js';

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `a ${value.constructor.name}`;
  return typeof value;
}

function refuse(path: string, reason: string): never {
  throw new SnakepitError('invalid_arguments', `${path} ${reason}`, {
    hint: 'arguments travel as JSON: use objects, arrays, strings, finite numbers, booleans and null',
  });
}

/**
 * Checks that the value survives JSON unchanged, so that nothing is silently
 * dropped or altered on the way: JSON.stringify would turn a function into
 * nothing, NaN into null and a Map into {}.
 */
function check(value: unknown, path: string, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `is ${describe(value)}, which JSON cannot represent`);
      return;
    case 'object':
      break;
    default:
      refuse(path, `is ${describe(value)}, which JSON cannot represent`);
  }
  if (value === null) return;
  if (ancestors.includes(value)) refuse(path, 'refers back to itself (a cycle)');
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    refuse(path, `is ${describe(value)}, which JSON would encode as {}; convert it first`);
  }
  ancestors.push(value);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => check(item, `${path}[${index}]`, ancestors));
  } else {
    for (const [key, item] of Object.entries(value)) {
      // An undefined property is an argument left out, as JSON.stringify treats it.
      if (item !== undefined) check(item, `${path}.${key}`, ancestors);
    }
  }
  ancestors.pop();
}

/**
 * Keyword arguments already encoded as a JSON object, passed to the worker
 * byte for byte: the bridge server relays its clients' arguments so, since
 * decoding them in JavaScript would change them (1.0 would become 1, and
 * integers above 2^53 would lose digits).
 */
export class EncodedArguments {
  constructor(readonly json: Uint8Array) {}
}

/**
 * Encodes keyword arguments (an object: `ToolArguments`, or the
 * arguments type of a described tool) as JSON, or throws `invalid_arguments`
 * naming the first offending value. JavaScript callers may pass anything, so
 * it takes anything.
 */
export function encodeArguments(args: unknown): Uint8Array {
  if (args instanceof EncodedArguments) return args.json;
  if (args === undefined || args === null) return Buffer.alloc(0);
  if (typeof args !== 'object' || Array.isArray(args)) {
    refuse('arguments', `must be an object of keyword arguments, got ${Array.isArray(args) ? 'an array' : describe(args)}`);
  }
  check(args, 'arguments', []);
  return Buffer.from(JSON.stringify(args), 'utf8');
}

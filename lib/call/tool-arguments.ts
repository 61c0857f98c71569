import { stringifyKeepingNumbers } from '../json-text.js';
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

const JSON_HINT = 'values travel as JSON: use objects, arrays, strings, finite numbers, booleans and null';
const INTEGER_HINT = 'pass it as a string (String(n), for a BigInt too) and convert it in the tool';

function refuse(path: string, reason: string, hint = JSON_HINT): never {
  throw new SnakepitError('invalid_arguments', `${path} ${reason}`, { hint });
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

/** What the walk learns on the way besides refusals. */
interface CheckState {
  readonly ancestors: object[];
  /** JSON.stringify would write -0 as 0. */
  negativeZero: boolean;
}

/**
 * Checks that the value survives JSON unchanged, so that nothing is silently
 * dropped or altered on the way: JSON.stringify would turn a function into
 * nothing, NaN into null and a Map into {}.
 */
function check(value: unknown, path: string, state: CheckState): void {
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
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  if (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    refuse(path, `is ${describe(value)}, which JSON would encode as {}; convert it first`);
  }
  ancestors.push(value);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => check(item, `${path}[${index}]`, state));
  } else {
    for (const [key, item] of Object.entries(value)) {
      // An undefined property is an argument left out, as JSON.stringify treats it.
      if (item !== undefined) check(item, `${path}.${key}`, state);
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
  constructor(readonly json: Uint8Array) {}
}

/** Encodes a value as JSON, or throws `invalid_arguments` naming (from `path`) the first value JSON would change. */
export function encodeJson(value: unknown, path: string): Buffer {
  const state: CheckState = { ancestors: [], negativeZero: false };
  check(value, path, state);
  return Buffer.from(state.negativeZero ? stringifyKeepingNumbers(value) : JSON.stringify(value), 'utf8');
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
  return encodeJson(args, 'arguments');
}

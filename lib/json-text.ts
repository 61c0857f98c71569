/**
 * Browser-safe: imports nothing.
 *
 * JSON text for Python readers, keeping what `JSON.stringify` loses on the
 * way: it writes -0 as `0`, and a number beyond ±(2^53-1) as an integer
 * (`1152921504606846976`), which Python reads as an exact int although it
 * was a float. Here -0 is written `-0.0` and such numbers in exponent form
 * (`1.152921504606847e+18`): Python reads the float each one was, and
 * JavaScript the same number.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function isSpecialNumber(value: number): boolean {
  return value > MAX_SAFE || value < -MAX_SAFE || Object.is(value, -0);
}

/**
 * Whether the value holds a number `JSON.stringify` would misrepresent.
 * Cheap, so that the usual value pays one walk and then `JSON.stringify`.
 */
export function hasSpecialNumbers(value: unknown): boolean {
  if (typeof value === 'number') return isSpecialNumber(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasSpecialNumbers(item)) return true;
    return false;
  }
  // ArrayBuffer views and objects with toJSON are written by JSON.stringify's own rules.
  if (ArrayBuffer.isView(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  // for...in is the fastest walk here; an inherited property can only cost a needless careful write.
  for (const key in value) if (hasSpecialNumbers((value as Record<string, unknown>)[key])) return true;
  return false;
}

function writeNumber(value: number): string {
  if (Object.is(value, -0)) return '-0.0';
  if (value > MAX_SAFE || value < -MAX_SAFE) return Number.isFinite(value) ? value.toExponential() : 'null';
  return JSON.stringify(value);
}

const skipped = (value: unknown): boolean => value === undefined || typeof value === 'function' || typeof value === 'symbol';

/** `JSON.stringify(value)` with the numbers written as above; for values `hasSpecialNumbers` found. */
export function stringifyKeepingNumbers(value: unknown): string {
  if (typeof value === 'number') return writeNumber(value);
  if (
    typeof value !== 'object' ||
    value === null ||
    ArrayBuffer.isView(value) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (skipped(item) ? 'null' : stringifyKeepingNumbers(item))).join(',')}]`;
  }
  const members: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (!skipped(item)) members.push(`${JSON.stringify(key)}:${stringifyKeepingNumbers(item)}`);
  }
  return `{${members.join(',')}}`;
}

/** The value as JSON text, with -0 and numbers beyond ±(2^53-1) written as the floats they are. */
export function stringifyJson(value: unknown): string {
  return hasSpecialNumbers(value) ? stringifyKeepingNumbers(value) : JSON.stringify(value);
}

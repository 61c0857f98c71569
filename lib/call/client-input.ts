import { SnakepitError } from '../errors.js';
import { MAX_QUOTED_INPUT } from '../quoted-input.js';

/**
 * A client's string as an error message may quote it: JSON-quoted, and cut
 * to its first characters with the full length said. Error messages travel
 * back to clients and into logs; a 200 KiB tool name echoed whole hung a client.
 */
export function quoteInput(value: string): string {
  if (value.length <= MAX_QUOTED_INPUT) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_INPUT))}… (${value.length} characters)`;
}

/** Throws `invalid_arguments` unless `value` is a string of at most `maxLength` characters (non-empty when `required`). */
export function checkId(what: 'tool name' | 'sessionId' | 'call id', value: unknown, maxLength: number, required: boolean): void {
  if (typeof value !== 'string') {
    throw new SnakepitError('invalid_arguments', `the ${what} must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  if (required && value === '') throw new SnakepitError('invalid_arguments', `the ${what} must not be empty`);
  if (value.length > maxLength) {
    throw new SnakepitError('invalid_arguments', `the ${what} ${quoteInput(value)} is over the ${maxLength}-character limit`, {
      hint: 'raise the pool option maxIdLength if longer ids are expected',
    });
  }
}

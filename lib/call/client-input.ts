import { SnakepitError } from '../errors.js';
import { quoteInput } from '../quoted-input.js';

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

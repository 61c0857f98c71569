/**
 * Browser-safe: imports only the quoting rule.
 *
 * Where a value is inside a call's arguments, as refusals name it
 * (`arguments.x.y[1]`): the pool's and the browser client's alike.
 */
import { cutInput } from './quoted-input.js';

/** The most of a path a message quotes: however deep, a path stays short. */
const MAX_QUOTED_PATH = 200;

/**
 * The path of a member of the value at `path`: an object's key (`.key`) or an array's index (`[3]`).
 * A key is the caller's input, cut as messages quote it.
 */
export function memberPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : `${path}.${cutInput(key)}`;
}

/** The path as a message quotes it: cut past 200 characters. */
export function quotedPath(path: string): string {
  return path.length > MAX_QUOTED_PATH ? `${path.slice(0, MAX_QUOTED_PATH)}…` : path;
}

/**
 * Browser-safe: imports nothing, so that the messages the browser client
 * shares with the server (its wire format, the NdArray refusals) quote by
 * the same rule as the HTTP handler and the pool.
 *
 * How much of what a client sent an error message quotes. Messages travel
 * back to clients and into logs: a client's input is cut, so that a
 * 100,000-character key does not make a 100 KB error.
 */

/** Characters of client input an error message may quote. */
export const MAX_QUOTED_INPUT = 64;

/** Client input shown as it is (a dtype, a shape's JSON), cut to its first 64 characters and `…`. */
export function cutInput(text: string): string {
  return text.length > MAX_QUOTED_INPUT ? `${text.slice(0, MAX_QUOTED_INPUT)}…` : text;
}

/** Client input quoted in a message, cut short: a huge tool name must not make a huge error (the HTTP handler's form). */
export function quote(input: string): string {
  return JSON.stringify(cutInput(input));
}

/**
 * A client's string as an error message may quote it: JSON-quoted, and cut
 * to its first characters with the full length said (the pool's and the
 * bridge server's form). A 200 KiB tool name echoed whole hung a client.
 */
export function quoteInput(value: string): string {
  if (value.length <= MAX_QUOTED_INPUT) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_INPUT))}… (${value.length} characters)`;
}

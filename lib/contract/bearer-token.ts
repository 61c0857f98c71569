/**
 * Why a token cannot be sent as `authorization: Bearer <token>`, or
 * undefined when it can: gRPC metadata carries printable ASCII only, and
 * spaces at either end do not survive as sent, so such a token would fail
 * every call, on the client or at the server.
 */
export function tokenRefusal(token: unknown): string | undefined {
  if (typeof token !== 'string' || token === '') return '`token` must be a non-empty string';
  if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(token)) {
    return '`token` must be printable ASCII without spaces at its ends, as gRPC metadata carries it';
  }
  return undefined;
}

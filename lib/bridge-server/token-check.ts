import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { SnakepitError } from '../errors.js';

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Checks `authorization: Bearer <token>`. Both sides are hashed first so
 * that the comparison takes the same time whatever the length of the guess.
 */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(`Bearer ${token}`);
  }

  /** Throws `unauthenticated` unless the metadata carries the token. */
  require(metadata: Metadata): void {
    let admitted = false;
    for (const value of metadata.get('authorization')) {
      // Not short-circuited, so that every value costs the same.
      admitted = timingSafeEqual(digest(value), this.expected) || admitted;
    }
    if (!admitted) {
      throw new SnakepitError('unauthenticated', 'missing or wrong token', {
        hint: 'send the metadata entry `authorization: Bearer <token>`',
      });
    }
  }
}

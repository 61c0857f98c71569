import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

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

  admits(metadata: Metadata): boolean {
    let admitted = false;
    for (const value of metadata.get('authorization')) {
      // Not short-circuited, so that every value costs the same.
      admitted = timingSafeEqual(digest(value), this.expected) || admitted;
    }
    return admitted;
  }
}

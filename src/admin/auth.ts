import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UnauthorizedError } from '../core/errors.ts';

/**
 * Bearer-token check for the admin API. Both sides are hashed first so the comparison takes the same time
 * whatever the length or content of the presented token.
 */
export class TokenGuard {
  private readonly expected: Buffer | null;

  constructor(token: string | null) {
    this.expected = token === null ? null : digest(token);
  }

  /** Throws UnauthorizedError unless the request carries the token (or no token is configured). */
  check(req: IncomingMessage): void {
    if (this.expected === null) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match === null || !timingSafeEqual(digest(match[1]!.trim()), this.expected)) throw new UnauthorizedError();
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

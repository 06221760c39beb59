import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminRole, AdminToken } from '../config/config.ts';
import { CutoverError, UnauthorizedError } from '../core/errors.ts';

/** Who is calling the admin API: a named token, or (when no token is configured) the local machine. */
export interface Caller {
  readonly name: string;
  readonly role: AdminRole;
  /** True when a token said who this is; false for the unauthenticated loopback caller. */
  readonly authenticated: boolean;
}

/** Every caller when no token is configured: the config allows that only on loopback. */
export const LOCAL_CALLER: Caller = Object.freeze({ name: 'local', role: 'admin', authenticated: false });

/** The longest part of a caller's own `who` hint kept in the history. */
export const MAX_WHO_HINT = 100;

/**
 * Bearer tokens of the admin API (RFC 6750 §2.1). The presented token and every configured one are hashed first
 * and compared in constant time, each of them, so neither the length nor the content of a guess, nor which token
 * it came close to, shows in the time the answer takes.
 */
export class TokenGuard {
  private readonly tokens: readonly { name: string; role: AdminRole; digest: Buffer }[];

  constructor(tokens: readonly AdminToken[]) {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, digest: digest(t.token) }));
  }

  /** No token configured: the API is open to whoever reaches its loopback listener. */
  get open(): boolean {
    return this.tokens.length === 0;
  }

  /** The caller the request's token names; LOCAL_CALLER when no token is configured; null when it names none. */
  identify(req: IncomingMessage): Caller | null {
    if (this.open) return LOCAL_CALLER;
    const presented = bearerToken(req);
    if (presented === null) return null;
    const hash = digest(presented);
    let found: Caller | null = null;
    for (const token of this.tokens) {
      // No early exit: every comparison runs whichever one matches.
      if (timingSafeEqual(hash, token.digest) && found === null) found = { name: token.name, role: token.role, authenticated: true };
    }
    return found;
  }

  /** Like identify, but throws UnauthorizedError (401) for a request without a valid token. */
  authenticate(req: IncomingMessage): Caller {
    const caller = this.identify(req);
    if (caller === null) throw new UnauthorizedError();
    return caller;
  }
}

/** Throws FORBIDDEN (403) unless the caller's role allows the method: `read` only reads. */
export function authorize(caller: Caller, method: string, path: string): void {
  if (caller.role === 'admin' || method === 'GET' || method === 'HEAD') return;
  throw new CutoverError(
    'FORBIDDEN', 403, `the token "${caller.name}" is read-only; ${method} ${path} needs a token with role admin`,
  );
}

/**
 * The `who` of a control action in the history. A token caller is its token's name, whatever the body says, so no
 * client can act under another's name; the local caller is `local`, with its own hint (`cli:alice`) in brackets.
 */
export function whoOf(caller: Caller, hint?: string): string {
  if (caller.authenticated) return `token:${caller.name}`;
  if (hint === undefined) return caller.name;
  // Control characters would reach terminals (`cutover history`) and logs as they are.
  const clean = hint.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_WHO_HINT);
  return clean === '' ? caller.name : `${caller.name} (${clean})`;
}

function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match === null ? null : match[1]!.trim();
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

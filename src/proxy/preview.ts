import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An app's preview settings as the data path holds them. */
export interface PreviewAccess {
  readonly header: string;
  readonly secret: Buffer;
  /** The cookie value set by /__cutover/preview: a MAC of the secret, so the cookie never carries it. */
  readonly cookieValue: Buffer;
}

export const PREVIEW_COOKIE = 'cutover-preview';
export const PREVIEW_ON_PATH = '/__cutover/preview';
export const PREVIEW_OFF_PATH = '/__cutover/preview/off';

export function previewAccess(app: string, header: string, secret: string): PreviewAccess {
  const cookieValue = createHmac('sha256', secret).update(`cutover-preview:${app}`).digest('base64url');
  return { header, secret: Buffer.from(secret), cookieValue: Buffer.from(cookieValue) };
}

/** True when the request carries the preview header with the right secret, or the preview cookie. */
export function wantsPreview(req: IncomingMessage, access: PreviewAccess): boolean {
  const header = req.headers[access.header];
  if (typeof header === 'string' && sameBytes(header, access.secret)) return true;
  const cookie = req.headers.cookie;
  if (cookie === undefined || !cookie.includes(PREVIEW_COOKIE)) return false;
  const value = cookieValue(cookie);
  return value !== null && sameBytes(value, access.cookieValue);
}

/**
 * `/__cutover/preview?secret=…` sets the preview cookie (403 with a wrong secret); `/__cutover/preview/off` clears
 * it. Both redirect to `/`. Returns false for any other path.
 */
export function handlePreviewPath(req: IncomingMessage, res: ServerResponse, access: PreviewAccess): boolean {
  const url = req.url ?? '/';
  if (!url.startsWith(PREVIEW_ON_PATH)) return false;
  const { pathname, searchParams } = new URL(url, 'http://preview');
  if (pathname === PREVIEW_OFF_PATH) {
    redirect(res, `${PREVIEW_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
    return true;
  }
  if (pathname !== PREVIEW_ON_PATH) return false;
  if (!sameBytes(searchParams.get('secret') ?? '', access.secret)) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('PREVIEW_DENIED: wrong or missing secret\n');
    return true;
  }
  redirect(res, `${PREVIEW_COOKIE}=${access.cookieValue.toString()}; Path=/; HttpOnly; SameSite=Lax`);
  return true;
}

/** The Cookie header without the preview cookie; null when nothing is left. */
export function withoutPreviewCookie(cookie: string): string | null {
  const kept = cookie.split(';').filter((part) => part.trim().split('=', 1)[0] !== PREVIEW_COOKIE);
  const joined = kept.map((p) => p.trim()).join('; ');
  return joined === '' ? null : joined;
}

function cookieValue(cookie: string): string | null {
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === PREVIEW_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}

function sameBytes(value: string, expected: Buffer): boolean {
  const given = Buffer.from(value);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function redirect(res: ServerResponse, cookie: string): void {
  res.writeHead(302, { location: '/', 'set-cookie': cookie, 'cache-control': 'no-store', 'content-length': 0 }).end();
}

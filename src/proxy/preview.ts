import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An app's preview settings as the data path holds them. */
export interface PreviewAccess {
  readonly app: string;
  readonly header: string;
  readonly secret: Buffer;
}

/** A preview cookie is good for a day: long enough for a review, short enough not to be a standing password. */
export const PREVIEW_COOKIE_MS = 24 * 60 * 60 * 1000;

export const PREVIEW_COOKIE = 'cutover-preview';
export const PREVIEW_ON_PATH = '/__cutover/preview';
export const PREVIEW_OFF_PATH = '/__cutover/preview/off';

export function previewAccess(app: string, header: string, secret: string): PreviewAccess {
  return { app, header, secret: Buffer.from(secret) };
}

/** True when the request carries the preview header with the right secret, or the preview cookie. */
export function wantsPreview(req: IncomingMessage, access: PreviewAccess): boolean {
  const header = req.headers[access.header];
  if (typeof header === 'string' && sameBytes(header, access.secret)) return true;
  const cookie = req.headers.cookie;
  if (cookie === undefined || !cookie.includes(PREVIEW_COOKIE)) return false;
  const value = cookieValue(cookie);
  return value !== null && validCookie(value, access, Date.now());
}

/** `<expiry>.<MAC of app and expiry>`: the cookie never carries the secret and stops working on its own. */
export function cookieFor(access: PreviewAccess, expires: number): string {
  return `${expires}.${mac(access, expires)}`;
}

function validCookie(value: string, access: PreviewAccess, now: number): boolean {
  const dot = value.indexOf('.');
  const expires = Number(value.slice(0, dot));
  if (dot <= 0 || !Number.isSafeInteger(expires) || expires <= now) return false;
  return sameBytes(value.slice(dot + 1), Buffer.from(mac(access, expires)));
}

function mac(access: PreviewAccess, expires: number): string {
  return createHmac('sha256', access.secret).update(`cutover-preview:${access.app}:${expires}`).digest('base64url');
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
  const maxAge = PREVIEW_COOKIE_MS / 1000;
  redirect(res, `${PREVIEW_COOKIE}=${cookieFor(access, Date.now() + PREVIEW_COOKIE_MS)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`);
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

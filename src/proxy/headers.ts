import { withoutPreviewCookie } from './preview.ts';

// Header rewriting at the proxy boundary. Works on Node's flat raw header arrays ([name, value, name, value, ...])
// to avoid building objects per request.

/** RFC 9110 §7.6.1: connection-specific fields that a proxy must not forward, plus the ones it replaces. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
]);

/** Pseudo-header names (`:method`, `:authority`, ...) of HTTP/2 requests start with it. */
const COLON = 0x3a;

/** Request fields cutover sets itself or that the upstream client handles. */
const REPLACED_ON_REQUEST = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'expect', 'forwarded']);

export interface ForwardedFor {
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** The app's preview header: never forwarded, whatever it carries. */
  readonly previewHeader: string | null;
}

/**
 * The request headers to send upstream: hop-by-hop fields and those named in `Connection` removed, `Host` kept,
 * `X-Forwarded-For` extended with the client's address, `X-Forwarded-Proto` and `-Host` set. An HTTP/2 request
 * becomes an HTTP/1.1 one: its pseudo-headers go, `:authority` gives `Host` when it has none (RFC 9113 §8.3.1), and
 * its cookie fields, which HTTP/2 may split, are joined into one (RFC 9113 §8.2.3).
 */
export function upstreamRequestHeaders(raw: readonly string[], fwd: ForwardedFor): string[] {
  // Only apps with preview pay for the extra checks.
  if (fwd.previewHeader !== null) raw = withoutPreviewFields(raw, fwd.previewHeader);
  const named = connectionTokens(raw);
  const out: string[] = [];
  let priorFor: string | null = null;
  let host = '';
  let authority = '';
  let cookies: string[] | null = null;
  // Pseudo-headers come before all other fields (RFC 9113 §8.3), so the first one tells an HTTP/2 request.
  const http2 = raw.length > 0 && raw[0]!.charCodeAt(0) === COLON;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === COLON) {
      if (name === ':authority') authority = raw[i + 1]!;
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') priorFor = priorFor === null ? raw[i + 1]! : `${priorFor}, ${raw[i + 1]}`;
    if (lower === 'host') host = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower) || REPLACED_ON_REQUEST.has(lower) || (named !== null && named.has(lower))) continue;
    if (http2 && lower === 'cookie') (cookies ??= []).push(raw[i + 1]!);
    else out.push(name, raw[i + 1]!);
  }
  if (cookies !== null) out.push('cookie', cookies.join('; '));
  if (host === '' && authority !== '') {
    host = authority;
    out.unshift('host', authority);
  }
  out.push('x-forwarded-for', priorFor === null ? fwd.clientIp : `${priorFor}, ${fwd.clientIp}`);
  out.push('x-forwarded-proto', fwd.proto);
  if (host !== '') out.push('x-forwarded-host', host);
  return out;
}

/** The response headers to send to the client: hop-by-hop fields removed, the rest as latin1 strings. */
export function clientResponseHeaders(raw: readonly Buffer[] | readonly string[]): string[] {
  const strings = raw.map((v) => (typeof v === 'string' ? v : v.toString('latin1')));
  const named = connectionTokens(strings);
  const out: string[] = [];
  for (let i = 0; i < strings.length; i += 2) {
    const lower = strings[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower))) continue;
    out.push(strings[i]!, strings[i + 1]!);
  }
  return out;
}

/** The request's fields without the preview header, and without the preview cookie inside Cookie. */
function withoutPreviewFields(raw: readonly string[], header: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === header) continue;
    if (lower === 'cookie') {
      const kept = withoutPreviewCookie(raw[i + 1]!);
      if (kept !== null) out.push(raw[i]!, kept);
      continue;
    }
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** The field names listed in `Connection` (RFC 9110 §7.6.1), lower-cased; null when there is none. */
function connectionTokens(raw: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t === '' || t === 'close' || t === 'keep-alive') continue;
      (tokens ??= new Set()).add(t);
    }
  }
  return tokens;
}

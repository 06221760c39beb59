import { withoutPreviewCookie } from './preview.ts';

// Header rewriting at the proxy boundary. Works on Node's flat raw header arrays ([name, value, name, value, ...])
// to avoid building objects per request.

/** What the proxy does with a field, by its lower-cased name; a name not listed is passed on as it is. */
const enum Field {
  /** RFC 9110 §7.6.1: connection-specific, never forwarded in either direction. */
  HopByHop = 1,
  /** Set by cutover itself on the request, or handled by the upstream client. */
  Replaced,
  /** Replaced, and its value extends the new X-Forwarded-For. */
  ForwardedFor,
  Host,
  Cookie,
}

const FIELDS = new Map<string, Field>([
  ['connection', Field.HopByHop],
  ['keep-alive', Field.HopByHop],
  ['proxy-connection', Field.HopByHop],
  ['te', Field.HopByHop],
  ['trailer', Field.HopByHop],
  ['transfer-encoding', Field.HopByHop],
  ['upgrade', Field.HopByHop],
  ['proxy-authorization', Field.HopByHop],
  ['x-forwarded-for', Field.ForwardedFor],
  ['x-forwarded-proto', Field.Replaced],
  ['x-forwarded-host', Field.Replaced],
  ['expect', Field.Replaced],
  ['forwarded', Field.Replaced],
  ['host', Field.Host],
  ['cookie', Field.Cookie],
]);

/** By length: whether some name in FIELDS has it. A name of another length is neither lower-cased nor looked up. */
const LISTED_LENGTHS: readonly boolean[] = (() => {
  const lengths: boolean[] = [];
  for (const name of FIELDS.keys()) lengths[name.length] = true;
  return lengths;
})();

/** What the proxy does with the field `name` (any case); undefined: passed on as it is. */
function fieldOf(name: string): Field | undefined {
  return LISTED_LENGTHS[name.length] === true ? FIELDS.get(name.toLowerCase()) : undefined;
}

/** A `Connection` value that is only `keep-alive` or `close`, which name no field. */
const OPTIONS_ONLY = /^\s*(?:keep-alive|close)\s*$/i;

/** Pseudo-header names (`:method`, `:authority`, ...) of HTTP/2 requests start with it. */
const COLON = 0x3a;

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
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === COLON) {
      if (name === ':authority') authority = value;
      continue;
    }
    const field = fieldOf(name);
    if (field === Field.HopByHop || field === Field.Replaced) continue;
    if (field === Field.ForwardedFor) {
      priorFor = priorFor === null ? value : `${priorFor}, ${value}`;
      continue;
    }
    if (field === Field.Host) host = value;
    // Host is end-to-end whatever `Connection` lists: cutover routed by it, and the app must see the same one.
    if (named !== null && field !== Field.Host && named.has(name.toLowerCase())) continue;
    if (http2 && field === Field.Cookie) (cookies ??= []).push(value);
    else out.push(name, value);
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

/**
 * The response headers to send to the client: hop-by-hop fields removed, the rest as latin1 strings. One pass;
 * a second one only when `Connection` names further fields to drop (rare: they may come before it).
 */
export function clientResponseHeaders(raw: readonly Buffer[] | readonly string[]): string[] {
  const out: string[] = [];
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    if (fieldOf(name) === Field.HopByHop) {
      if (name.length === 10 && name.toLowerCase() === 'connection') named = addConnectionTokens(named, latin1(raw[i + 1]!));
      continue;
    }
    out.push(name, latin1(raw[i + 1]!));
  }
  return named === null ? out : withoutNamed(out, named);
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

function withoutNamed(fields: readonly string[], named: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2) if (!named.has(fields[i]!.toLowerCase())) out.push(fields[i]!, fields[i + 1]!);
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
    tokens = addConnectionTokens(tokens, raw[i + 1]!);
  }
  return tokens;
}

/** Adds the field names one `Connection` value lists; `close` and `keep-alive` are options, not fields. */
function addConnectionTokens(tokens: Set<string> | null, value: string): Set<string> | null {
  // Nearly every Connection field is one of the two options alone: no need to split it.
  if (OPTIONS_ONLY.test(value)) return tokens;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (tokens ??= new Set()).add(t);
  }
  return tokens;
}

/** `headers` (flat name, value pairs) without Content-Length. */
export function withoutContentLength(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length !== 14 || headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

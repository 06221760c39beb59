import type { IncomingMessage } from 'node:http';
import { CutoverError } from '../core/errors.ts';

// What Node's parser lets through but a proxy must not forward (RFC 9112): it would be read one way here and
// another way upstream. Checked once per request, before routing.

const VERSION = new CutoverError('HTTP_VERSION_NOT_SUPPORTED', 505, 'only HTTP/1.x is accepted on this connection');
const CODING = new CutoverError('TRANSFER_CODING', 501, 'a transfer coding other than chunked is not supported');
const NOT_CHUNKED = new CutoverError('BAD_FRAMING', 400, 'Transfer-Encoding must end with chunked');
const HOSTS = new CutoverError('BAD_HOST', 400, 'a request must have one valid Host');
/** RFC 3986 reg-name or IPv4 (unreserved, pct-encoded, sub-delims) or an IP literal, then an optional port. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]*|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/;

/** The error to answer instead of forwarding, or null for a request that may go on. */
export function requestProblem(req: IncomingMessage): CutoverError | null {
  // HTTP/2 arrives through Node's compatibility layer (with its stream); anything else must be HTTP/1.x.
  if (req.httpVersionMajor !== 1 && !(req.httpVersionMajor === 2 && 'stream' in req)) return VERSION;
  const te = req.headers['transfer-encoding'];
  // RFC 9112 §6.3 ¶4: without chunked last the body's length is unknown (400); §6.1: a coding this proxy does not
  // apply must not be passed on as if the body were plain chunked (501).
  if (te !== undefined && !/^\s*chunked\s*$/i.test(te)) return /(^|,)\s*chunked\s*$/i.test(te) ? CODING : NOT_CHUNKED;
  const host = req.headers.host;
  // RFC 9112 §3.2 ¶6: an HTTP/1.1 request without Host is refused (HTTP/1.0 may omit it; HTTP/2 has :authority).
  if (host === undefined) return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 ? HOSTS : null;
  if (!HOST.test(host) || hostCount(req.rawHeaders) > 1) return HOSTS;
  return null;
}

function hostCount(raw: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') count++;
  return count;
}

const TARGET = new CutoverError('BAD_TARGET', 400, 'the request target must be a path or an absolute http(s) URL');

/**
 * RFC 9112 §3.2.2: a request in absolute form (`GET http://shop.example/a HTTP/1.1`) is routed and forwarded by
 * its target URI: the path goes upstream in origin form and the Host comes from the URI, whatever Host was sent.
 * Returns the error to answer for a target that is neither a path nor a valid absolute http(s) URL (`*`, a bad
 * port), which would otherwise reach the upstream as it is.
 */
export function toOriginForm(req: IncomingMessage): CutoverError | null {
  const target = req.url ?? '/';
  if (target.charCodeAt(0) === 47 /* / */) return null;
  if (!/^https?:\/\//i.test(target)) return TARGET;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return TARGET;
  }
  req.url = url.pathname + url.search;
  req.headers.host = url.host;
  const raw = req.rawHeaders;
  let replaced = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'host') [raw[i + 1], replaced] = [url.host, true];
  }
  if (!replaced) raw.push('Host', url.host);
  return null;
}

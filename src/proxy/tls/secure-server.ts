import type { OutgoingHttpHeaders, RequestListener, Server } from 'node:http';
import { createSecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { type ClientLimits, DEFAULT_CLIENT_LIMITS } from '../proxy-server.ts';
import type { CertificateStore } from './certificate-store.ts';
import { withSessionControl } from './http2-sessions.ts';

/** How often the HTTP/1.1 head and request timeouts are checked, as on the plain listener (Node's default: 30 s). */
const TIMEOUT_CHECK_MS = 1_000;
/** A client that has not finished its TLS handshake by then is dropped (Node's default is 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Streams one HTTP/2 connection may have open at once, as nginx's default; Node's own is unlimited. */
const MAX_CONCURRENT_STREAMS = 128;

/**
 * Builds the public listener for HTTPS: HTTP/2 for clients that offer it by ALPN, HTTP/1.1 for the others, both
 * served by the one request handler through Node's HTTP/2 compatibility API. Certificates come from `certificates`
 * per handshake (SNI); the default one is the server's own context, replaced whenever the store replaces it.
 */
export function secureServerFactory(certificates: CertificateStore, limits: ClientLimits = DEFAULT_CLIENT_LIMITS): (handler: RequestListener) => Server {
  return (handler) => {
    // allowHTTP1 makes Node offer ['h2', 'http/1.1'] by ALPN (RFC 7301), in that order of preference.
    const options = {
      allowHTTP1: true,
      SNICallback: certificates.SNICallback,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Tells clients the header limit (RFC 9113 §6.5.2); Node does not enforce it on what arrives: limitHeaders does.
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: limits.maxHeaderBytes },
      Http2ServerRequest: ProxiedHttp2Request,
      Http2ServerResponse: ProxiedHttp2Response,
    };
    const server = createSecureServer(options, limitHeaders(handler, limits.maxHeaderBytes) as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
    // What http.Server takes as options, an HTTP/2 server reads as properties for its HTTP/1.1 connections. Node
    // leaves it without a keep-alive timeout; the sessions use the same one (closeWhenIdle).
    Object.assign(server, {
      keepAliveTimeout: limits.keepAliveMs,
      headersTimeout: limits.requestHeadMs,
      maxHeaderSize: limits.maxHeaderBytes,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    });
    certificates.onDefault((pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }));
    return withSessionControl(server);
  };
}

/**
 * HTTP/1.1 heads over the limit are refused by Node's parser (431 from ProxyServer's clientError); HTTP/2 header
 * lists are checked here, measured as RFC 9113 §6.5.2 does: name and value octets plus 32 per field.
 */
function limitHeaders(handler: RequestListener, maxBytes: number): RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > maxBytes) {
      const body = `HEADERS_TOO_LARGE: the request's header fields exceed ${maxBytes} bytes\n`;
      res.writeHead(431, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    handler(req, res);
  };
}

function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i += 2) size += raw[i]!.length + raw[i + 1]!.length + 32;
  return size;
}

/**
 * An HTTP/2 request made to read like the HTTP/1.1 one the data path was written for: routing looks at `Host`, and
 * whether there is a body to forward at Content-Length or Transfer-Encoding.
 */
class ProxiedHttp2Request extends Http2ServerRequest {
  constructor(...args: ConstructorParameters<typeof Http2ServerRequest>) {
    super(...args);
    const headers = this.headers;
    // RFC 9113 §8.3.1: a request forwarded to HTTP/1.1 gets its Host from :authority when it has none.
    headers.host ??= headers[':authority'];
    // RFC 9113 §8.1: a body ends with the stream, often without a Content-Length; over HTTP/1.1 that is a chunked
    // body (RFC 9112 §7.1). The name only marks it here: the header sent upstream is undici's own.
    if (headers['content-length'] === undefined && !this.stream.endAfterHeaders) headers['transfer-encoding'] = 'chunked';
  }
}

/** RFC 9113 §8.3.2: HTTP/2 has no reason phrase. Node warns when given one, and the data path passes the upstream's. */
class ProxiedHttp2Response extends Http2ServerResponse {
  override writeHead(status: number, reasonOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    return typeof reasonOrHeaders === 'string' ? super.writeHead(status, headers) : super.writeHead(status, reasonOrHeaders);
  }
}

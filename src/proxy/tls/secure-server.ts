import { Server as HttpServer, type OutgoingHttpHeaders, type RequestListener, type Server } from 'node:http';
import {
  createSecureServer,
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2SecureServer,
  type ServerHttp2Session,
} from 'node:http2';
import { type ClientLimits, DEFAULT_CLIENT_LIMITS } from '../proxy-server.ts';
import type { CertificateStore } from './certificate-store.ts';

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
    return withConnectionControl(server);
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

/**
 * ProxyServer.close() drains through http.Server's closeIdleConnections() and closeAllConnections(). An HTTP/2
 * server has the first only for its HTTP/1.1 connections and lacks the second; these cover its sessions too. Closing
 * a session sends GOAWAY (RFC 9113 §6.8): its streams in flight finish, the client opens no new ones on it.
 */
function withConnectionControl(server: Http2SecureServer): Server {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // Read per session, so a keep-alive the owner set after building the server (ProxyServer does) applies.
    closeWhenIdle(session, (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout);
  });
  // Node 20 has it; @types/node's Http2SecureServer does not declare it.
  const closeIdleHttp1 = (server as unknown as HttpServer).closeIdleConnections.bind(server);
  return Object.assign(server, {
    closeIdleConnections(): void {
      closeIdleHttp1();
      for (const session of sessions) session.close();
    },
    closeAllConnections(): void {
      // The HTTP/1.1 connections are tracked by the same machinery as http.Server's, so its method works here.
      HttpServer.prototype.closeAllConnections.call(server);
      for (const session of sessions) session.destroy();
    },
  }) as unknown as Server;
}

/**
 * Closes a session that has had no stream open for `idleMs` (0: never), as a keep-alive timeout does for HTTP/1.1. A
 * long response with quiet stretches keeps its session: only a session without streams counts as idle.
 */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  if (!(idleMs > 0)) return;
  let open = 0;
  // Activity postpones a session's timeout, but once it has fired Node does not arm it again: that is done here
  // when the last stream ends.
  let armed = true;
  session.on('timeout', () => {
    armed = false;
    if (open === 0) session.close();
  });
  session.on('stream', (stream) => {
    open++;
    stream.once('close', () => {
      if (--open > 0 || armed || session.closed) return;
      armed = true;
      session.setTimeout(idleMs);
    });
  });
  session.setTimeout(idleMs);
}

import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Transform, type Duplex, type Readable } from 'node:stream';
import { listenOn } from '../core/listen.ts';
import type { ListenAddress } from '../config/config.ts';
import { CutoverError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { DataPath } from './data-path.ts';
import { Forward, type ForwardFailureSink } from './forward.ts';
import { upstreamRequestHeaders, type ForwardedFor } from './headers.ts';
import { behindClosingAnswer, closeAfter, closingAnswer } from './closing-connection.ts';
import { requestProblem, toOriginForm } from './request-checks.ts';
import { handlePreviewPath, wantsPreview } from './preview.ts';
import type { RoutedApp, RoutedEnv } from './router.ts';
import type { Tunnel } from './websocket/tunnel.ts';
import { proxyUpgrade } from './websocket/upgrade.ts';

export interface ProxyServerOptions {
  readonly listen: ListenAddress;
  readonly dataPath: DataPath;
  readonly log: Logger;
  /** `public` routes to each app's live environment; `preview` always to one app's candidate. */
  readonly mode: { readonly kind: 'public' } | { readonly kind: 'preview'; readonly app: string };
  /** Builds the listening server around the request handler (TLS, HTTP/2); default: plain HTTP/1.1. */
  readonly createServer?: (handler: RequestListener) => Server;
  /** What one client may cost; defaults to DEFAULT_CLIENT_LIMITS. */
  readonly client?: ClientLimits;
}

export interface ClientLimits {
  readonly requestHeadMs: number;
  readonly keepAliveMs: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { requestHeadMs: 10_000, keepAliveMs: 60_000, maxHeaderBytes: 16_384, maxConnections: 10_000 };
/** How often Node checks the head and request timeouts of open connections (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

const SHUTDOWN_POLL_MS = 50;
/** After a close starts, idle keep-alive connections are left this long so their clients can see `connection: close`. */
const IDLE_GRACE_MS = 1_000;
/** A tunnel ends within its boundary wait (2 s) plus the close handshake; this bounds the shutdown's wait. */
const TUNNEL_CLOSE_MS = 3_000;
const NO_APP = new CutoverError('NO_APP', 404, 'no app is configured for this host');
const NO_CANDIDATE = new CutoverError('NO_CANDIDATE', 503, 'there is no candidate environment to preview');
const noCandidate = () => NO_CANDIDATE;

/**
 * A listener of the data path. It reads the data path's compiled route table once per request and never writes
 * it; a switch swaps that table in one assignment, so every request that starts after it goes to the new
 * environment.
 */
export class ProxyServer implements ForwardFailureSink {
  private readonly server: Server;
  /** Upgraded connections: the HTTP server no longer sees them, so a shutdown ends them itself. */
  private readonly tunnels = new Set<Tunnel>();
  private closing = false;
  /** Where data-path workers listen on this server's behalf (node:cluster shares their port); null: here. */
  private elsewhere: AddressInfo | null = null;

  constructor(private readonly options: ProxyServerOptions) {
    const client = options.client ?? DEFAULT_CLIENT_LIMITS;
    this.server = options.createServer?.(this.arrive) ?? createServer(serverOptions(client), this.arrive);
    // Also set on a server built elsewhere (TLS): these are plain properties of every Node HTTP server.
    // requireHostHeader off: Node's own 400 for a missing Host would bypass the handler, and with it the rule that
    // nothing pipelined behind a refusal is forwarded; requestProblem refuses it instead.
    Object.assign(this.server, { headersTimeout: client.requestHeadMs, keepAliveTimeout: client.keepAliveMs, maxConnections: client.maxConnections, requireHostHeader: false });
    this.server.on('clientError', onClientError);
    // `Expect: 100-continue`: Node would send 100 before any check; cutover sends it only once the request is to
    // be forwarded, so a body it refuses anyway (413) is not sent first. The 'request' listener as the server has it
    // (a TLS server wraps it in its header limit), so such a request meets every check the others meet.
    for (const listener of this.server.listeners('request')) this.server.on('checkContinue', listener as RequestListener);
    this.server.on('upgrade', this.upgrade);
    // CONNECT would make the proxy a tunnel to anywhere: refused (RFC 9110 §9.3.6 makes it optional).
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex | ServerResponse) => {
      if (!('writeHead' in socket)) socket.on('error', () => socket.destroy());
      refuseConnect(socket);
    });
  }

  address(): AddressInfo {
    return this.elsewhere ?? (this.server.address() as AddressInfo);
  }

  /** This listener's port is served by data-path workers at `address`; this process does not listen itself. */
  servedElsewhere(address: AddressInfo): void {
    this.elsewhere = address;
  }

  /** The listening server, to hand over to the cutover that replaces this one. */
  get listening(): Server {
    return this.server;
  }

  listen(inherited?: unknown): Promise<AddressInfo> {
    return listenOn(this.server, this.options.listen, this.options.mode.kind === 'public' ? 'the proxy' : `the preview listener of ${this.options.mode.app}`, inherited, this.options.log);
  }

  /** Stops accepting, lets requests in flight finish for up to `drainMs`, then closes what is left. */
  async close(drainMs: number): Promise<void> {
    if (!this.server.listening) return;
    this.closing = true;
    if (this.options.mode.kind === 'public') this.options.dataPath.closeGates();
    // net.Server's close, not http.Server's: that one also cuts idle keep-alive connections at once, racing a client
    // that is sending its next request on one. Instead every response from now on says `connection: close`, and
    // idle connections are cut only after a grace, when active clients have moved on.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const started = Date.now();
    const deadline = started + drainMs;
    while (Date.now() < deadline && (await connectionCount(this.server)) > 0) {
      if (Date.now() - started >= Math.min(IDLE_GRACE_MS, drainMs)) this.server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
    }
    await this.endTunnels();
    this.server.closeAllConnections();
    await closed;
  }

  /** WebSockets still open at shutdown get their close frame 1001, like at the end of a drain. */
  private async endTunnels(): Promise<void> {
    for (const tunnel of this.tunnels) tunnel.endGracefully();
    const deadline = Date.now() + TUNNEL_CLOSE_MS;
    while (this.tunnels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
  }

  /** An Upgrade request (a WebSocket): routed like any request, then relayed as a tunnel. */
  private readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node hands the socket over without an error listener; a reset before the tunnel exists must not crash.
    socket.on('error', () => socket.destroy());
    // Pipelined behind an answer still being written: Node has already taken the connection from that answer (it
    // would stall, and a 101 would overtake it), so the connection is cut rather than relayed out of order.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current != null && !current.writableFinished) {
      socket.destroy();
      return;
    }
    // Pipelined behind an answer that closes the connection: not relayed; the socket ends after that answer.
    const closing = closingAnswer(socket);
    if (closing !== undefined) return endAfter(closing, () => socket.destroy());
    const refuse = (status: number, code: string, message: string) => refuseUpgrade(socket, status, code, message);
    if (this.closing) return refuse(503, 'SHUTTING_DOWN', 'this cutover is shutting down; retry');
    if (!/^websocket$/i.test(req.headers.upgrade ?? '')) return refuse(400, 'UPGRADE_REFUSED', 'only WebSocket upgrades are proxied');
    const problem = toOriginForm(req) ?? requestProblem(req);
    if (problem !== null) return refuse(problem.status, problem.code, problem.message);
    // An upgrade request has no body (RFC 6455 §4.1); one that claims one is not relayed as raw bytes.
    if (hasBody(req)) return refuse(400, 'UPGRADE_REFUSED', 'an upgrade request must not have a body');
    const router = this.options.dataPath.router;
    const mode = this.options.mode;
    const app = mode.kind === 'public' ? router.match(req.headers.host) : router.byName(mode.app);
    if (app === null) return refuse(404, NO_APP.code, NO_APP.message);
    // As for a request: a preview only while there is a candidate (without one the header and cookie reach live).
    const preview = mode.kind === 'preview' || (app.preview !== null && app.candidate !== null && wantsPreview(req, app.preview));
    const env = preview ? app.candidate : app.live;
    if (env === null && mode.kind === 'preview') return refuse(503, NO_CANDIDATE.code, NO_CANDIDATE.message);
    if (env === null) return refuse(503, 'NOT_DEPLOYED', `app "${app.name}" has nothing to serve this upgrade`);
    if (!preview && app.gate.paused) return refuse(503, 'PAUSED', `app "${app.name}" is paused`);
    proxyUpgrade(req, socket, head, { app, env, forwarded: this.forwarded(req, app), onError: refuse, tunnels: this.tunnels });
  };

  private forwarded(req: IncomingMessage, app: RoutedApp): ForwardedFor {
    const socket = req.socket;
    return {
      clientIp: socket.remoteAddress ?? '',
      proto: (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      previewHeader: app.preview?.header ?? null,
    };
  }

  /** cutover's own answer (no app, nothing live, paused), access-logged like a forwarded one. */
  private answer(req: IncomingMessage, res: ServerResponse, app: RoutedApp | null, error: CutoverError): void {
    this.options.dataPath.accessLog?.log({ app: app?.name ?? null, env: null, target: null, method: req.method ?? '', status: error.status, bytes: 0, durationMs: 0 });
    sendError(res, error);
  }

  onResponseCut(req: IncomingMessage, app: RoutedApp, error: CutoverError): void {
    this.options.log.warn({ app: app.name, code: error.code, method: req.method, url: req.url }, `the response was cut off after it had started: ${error.message}`);
  }

  onForwardFailure(req: IncomingMessage, res: ServerResponse, app: RoutedApp, error: CutoverError): void {
    this.options.log.warn({ app: app.name, code: error.code, method: req.method, url: req.url }, error.message);
    sendError(res, error);
  }

  /** A request as it arrives; one held by a pause comes back to `handle` when released. */
  private readonly arrive = (req: IncomingMessage, res: ServerResponse): void => {
    if (behindClosingAnswer(req, res)) return;
    this.handle(req, res);
  };

  private readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.closing) closeAfter(req, res);
    const problem = toOriginForm(req) ?? requestProblem(req);
    if (problem !== null) {
      closeAfter(req, res);
      return this.answer(req, res, null, problem);
    }
    const router = this.options.dataPath.router;
    const mode = this.options.mode;
    const app = mode.kind === 'public' ? router.match(req.headers.host) : router.byName(mode.app);
    if (app === null) return this.answer(req, res, null, NO_APP);
    // A pause quiets public traffic for a migration; preview traffic (a deployment's own checks) goes on.
    if (mode.kind === 'preview') return this.forward(req, res, app, app.candidate, noCandidate, false);
    if (app.preview !== null) {
      if (handlePreviewPath(req, res, app.preview)) return;
      if (app.candidate !== null && wantsPreview(req, app.preview)) return this.forward(req, res, app, app.candidate, noCandidate, false);
    }
    if (app.gate.paused) return this.hold(req, res, app);
    this.forward(req, res, app, app.live, notDeployed, true);
  };

  private forward(req: IncomingMessage, res: ServerResponse, app: RoutedApp, env: RoutedEnv | null, missing: (app: RoutedApp) => CutoverError, counted: boolean): void {
    if (env === null) return this.answer(req, res, app, missing(app));
    if (app.maxBodyBytes > 0 && Number(req.headers['content-length'] ?? 0) > app.maxBodyBytes) {
      // The body is not read: close the connection after the answer rather than leave it half-read.
      closeAfter(req, res);
      return this.answer(req, res, app, tooLarge(app));
    }
    const expect = req.headers.expect;
    // Never to an HTTP/1.0 client (RFC 9110 §15.2): Node asks only for HTTP/1.1 and later, and so does cutover.
    if (expect !== undefined && (req.httpVersionMajor > 1 || req.httpVersionMinor > 0) && /^100-continue$/i.test(expect)) res.writeContinue();
    const headers = upstreamRequestHeaders(req.rawHeaders, this.forwarded(req, app));
    const recorder = counted ? env.recorder : null;
    const { upstreamErrors, accessLog } = this.options.dataPath;
    // A chunked body has no length up front: it is counted as it streams, and cut at the limit.
    const body = app.maxBodyBytes > 0 && req.headers['transfer-encoding'] !== undefined ? limitedBody(req, app) : null;
    new Forward(req, res, { app, env, headers, hasBody: hasBody(req), body, failures: this, recorder, upstreamErrors, accessLog }).start();
  }

  /** While the app is paused the request waits; it is routed by whatever table is current when it resumes. */
  private hold(req: IncomingMessage, res: ServerResponse, app: RoutedApp): void {
    app.gate.hold(
      {
        res,
        go: () => this.handle(req, res),
        refuse: (seconds, why) => {
          res.setHeader('retry-after', String(seconds));
          const because = why === 'full' ? 'its queue is full' : 'this cutover is shutting down; retry';
          this.answer(req, res, app, new CutoverError('PAUSED', 503, `app "${app.name}" is paused and ${because}`));
        },
      },
      Date.now(),
    );
  }
}

/** The request body, failing with 413 once it passes the app's limit. */
function limitedBody(req: IncomingMessage, app: RoutedApp): Readable {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > app.maxBodyBytes ? tooLarge(app) : null, chunk);
    },
  });
  req.on('error', (err) => limiter.destroy(err));
  // Whoever sends the body hears its errors while it does; this keeps one that comes when nobody does (the client
  // gone after its request was answered or taken back from a pool's queue) from being thrown.
  limiter.on('error', () => {});
  return req.pipe(limiter);
}

function serverOptions(client: ClientLimits) {
  return {
    keepAliveTimeout: client.keepAliveMs,
    headersTimeout: client.requestHeadMs,
    // The whole request (head and body) may take long for a big upload; the head alone may not.
    requestTimeout: Math.max(300_000, client.requestHeadMs + 1),
    maxHeaderSize: client.maxHeaderBytes,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
}

function tooLarge(app: RoutedApp): CutoverError {
  return new CutoverError('PAYLOAD_TOO_LARGE', 413, `the request body is larger than app "${app.name}" accepts (${app.maxBodyBytes} bytes)`);
}

function notDeployed(app: RoutedApp): CutoverError {
  return new CutoverError('NOT_DEPLOYED', 503, `app "${app.name}" has nothing live yet`);
}

/** RFC 9112 §6.3: a request has a body only when it says so with Content-Length or Transfer-Encoding. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function sendError(res: ServerResponse, error: CutoverError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${error.code}: ${error.message}\n`;
  res.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** HTTP/1.1 hands over the socket; HTTP/2's compatibility layer a response for the stream. */
function refuseConnect(target: Duplex | ServerResponse): void {
  const message = 'CONNECT_REFUSED: CONNECT is not supported\n';
  if ('writeHead' in target) target.writeHead(501, { 'content-type': 'text/plain' }).end(message);
  else refuseUpgrade(target, 501, 'CONNECT_REFUSED', 'CONNECT is not supported');
}

function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = `${code}: ${message}\n`;
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${code}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
  else socket.destroy();
}

/** Runs `end` once `answer` is out. */
function endAfter(answer: ServerResponse, end: () => void): void {
  if (answer.writableFinished) end();
  else answer.once('finish', end);
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  // A bad request pipelined behind a good one: the good one's answer comes first (RFC 9112 §9.3.2), then the close.
  const inProgress = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  // cutover has already answered with a close (a refusal whose bytes the parser then failed on; it may wait behind
  // slower answers): that answer is the last one, and no second follows. The request in progress whose own body the
  // parser failed on, and whose answer is not written yet, gets the 400 below.
  // A closing answer queued behind others is awaited too: the bytes after it could never be answered anyway.
  const closing = closingAnswer(socket);
  if (closing !== undefined && (closing.headersSent || closing !== inProgress)) return endAfter(closing, () => socket.destroySoon());
  // (A response whose own request is still incomplete is the bad request's: that one gets the 400.)
  if (inProgress != null && !inProgress.writableEnded && inProgress.req?.complete === true) {
    inProgress.shouldKeepAlive = false;
    inProgress.once('finish', () => socket.destroySoon());
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
    : '400 Bad Request';
  // Destroyed once written: a client still sending (a slowloris) must not keep the socket half-open.
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_err, count) => resolve(count ?? 0)));
}

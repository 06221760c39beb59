import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { listenOn } from '../core/listen.ts';
import type { AdminConfig } from '../config/config.ts';
import type { ReloadOutcome } from '../config/reload-outcome.ts';
import { CutoverError, NotFoundError, toCutoverError } from '../core/errors.ts';
import type { EventHub } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Controller } from '../deploy/controller.ts';
import type { TargetStatusSource } from './app-status.ts';
import type { ControlGate, FleetView } from './control-gate.ts';
import { AuditLog, MemoryAuditStore } from './audit-log.ts';
import { TokenGuard } from './auth.ts';
import { serveEvents } from './event-stream.ts';
import { serveDashboardAsset, serveTraffic, type TrafficSource } from './dashboard-route.ts';
import { serveLogs } from './logs-route.ts';
import type { Metrics } from './metrics.ts';
import { matchRoute, methodsAt, runRoute, type MatchedRoute, type RouteContext } from './routes.ts';
import { decodePathPart, requestUrl } from './request-target.ts';

export interface AdminServerOptions {
  readonly config: AdminConfig;
  readonly controller: Controller;
  readonly targets: TargetStatusSource;
  readonly events: EventHub;
  readonly log: Logger;
  /** Re-reads the config file and applies it; rejects with ConfigError keeping the running config. */
  readonly reload: () => Promise<ReloadOutcome>;
  /** Requests a paused app holds right now. */
  readonly held: (app: string) => number;
  readonly metrics: Metrics;
  /** Each environment's traffic figures, for the dashboard's charts (the StatsRegistry). */
  readonly stats: TrafficSource;
  /** Where control actions are recorded: main.ts passes one on the state store. Without it, memory only. */
  readonly audit?: AuditLog;
  /** With several instances sharing etcd: where each app's control calls run, and the instances there are. */
  readonly gate?: ControlGate;
  readonly fleet?: FleetView;
}

/**
 * The admin API: JSON over HTTP, errors as `{ "error": { "code", "message" } }`. Without a token it only ever
 * listens on loopback (the config refuses anything else); with tokens, every call but /healthz (and the dashboard's
 * page) must present one, and a read-only token may only read. It never sends a CORS header.
 */
/** At close: idle connections are cut after this, and every connection after the second. */
const CLOSE_IDLE_MS = 300;
const CLOSE_ALL_MS = 1_000;

export class AdminServer {
  private closing = false;
  private readonly server: Server;
  private readonly guard: TokenGuard;
  private readonly audit: AuditLog;

  constructor(private readonly options: AdminServerOptions) {
    this.guard = new TokenGuard(options.config.tokens);
    this.audit = options.audit ?? new AuditLog({ store: new MemoryAuditStore(), log: options.log });
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** The listening server, to hand over to the cutover that replaces this one. */
  get listening(): Server {
    return this.server;
  }

  listen(inherited?: unknown): Promise<AddressInfo> {
    return listenOn(this.server, this.options.config.listen, 'the admin API', inherited, this.options.log);
  }

  /**
   * Stops accepting and lets the calls in progress finish: answers from now on close their connections, idle ones
   * are closed after a short grace (a client may be sending on one), and whatever is left (an event or log stream)
   * after a longer one. In a hand-over the new process takes the calls that come meanwhile.
   */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.closing = true;
    // net.Server's close, not http.Server's, which would cut idle connections at once (see ProxyServer.close).
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const idle = setTimeout(() => this.server.closeIdleConnections(), CLOSE_IDLE_MS);
    const all = setTimeout(() => this.server.closeAllConnections(), CLOSE_ALL_MS);
    await closed;
    clearTimeout(idle);
    clearTimeout(all);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) res.shouldKeepAlive = false;
    try {
      const url = requestUrl(req);
      if (req.method === 'OPTIONS') return refusePreflight(res);
      if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
      // The page and its assets hold no data, so they load without the token; every API call it makes needs it.
      if (serveDashboardAsset(req, res, url)) return;
      const caller = this.guard.authenticate(req);
      checkSameOrigin(req, this.guard.open);
      if (serveTraffic(req, res, url, { stats: this.options.stats, apps: this.options.controller })) return;
      if (req.method === 'GET' && url.pathname === '/api/events') return serveEvents(req, res, url, this.options.events);
      const logs = /^\/api\/apps\/([^/]+)\/logs$/.exec(url.pathname);
      if (req.method === 'GET' && logs !== null) {
        const app = this.options.controller.app(decodePathPart(logs[1]!));
        return await serveLogs(req, res, url, app.options.driver, app.name);
      }
      // HEAD is a GET whose body Node leaves out (RFC 9110 §9.3.2): the same headers, Content-Length included.
      const route = matchRoute(req.method === 'HEAD' ? 'GET' : req.method ?? 'GET', url.pathname);
      if (route === null) return this.noRoute(req, res, url);
      if (await this.forwarded(route, req, res, url)) return;
      // Every write is a route, so runRoute's role check covers them all; the calls served above only read.
      const ctx: RouteContext = { ...this.options, req, url, params: route.params, caller, audit: this.audit };
      const result = await runRoute(route, ctx);
      if (typeof result.body === 'string') return sendText(res, result.status, result.body, result.contentType);
      sendJson(res, result.status, result.body);
    } catch (err) {
      this.sendError(req, res, toCutoverError(err));
    }
  }

  /** 405 naming the methods when the path is an endpoint (RFC 9110 §15.5.6), else 404. */
  private noRoute(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const allowed = methodsAt(url.pathname);
    if (allowed.length === 0) throw new NotFoundError(`no such endpoint: ${req.method} ${url.pathname}`);
    const message = `${url.pathname} answers ${allowed.join(' and ')}, not ${req.method}`;
    sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message } }, { allow: allowed.join(', ') });
  }

  /** A control call on an app that another instance runs is answered by that instance (see ControlGate). */
  private async forwarded(route: MatchedRoute, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const app = route.kind === 'control' ? route.params.app : undefined;
    if (app === undefined || this.options.gate === undefined) return false;
    this.options.controller.app(app);
    return this.options.gate.intercept(app, req, res, url);
  }

  private sendError(req: IncomingMessage, res: ServerResponse, error: CutoverError): void {
    if (error.status >= 500) this.options.log.error({ err: error, method: req.method, url: req.url }, error.message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
    sendJson(res, error.status, { error: error.toJSON() }, headers);
  }
}

/**
 * A page in the operator's browser must not drive the API. Without a token, the Host must be a loopback name (a
 * DNS-rebinding page would carry its own); and a write must be `application/json`, which a cross-site form or
 * no-cors fetch cannot send without a preflight that cutover never grants.
 */
function checkSameOrigin(req: IncomingMessage, open: boolean): void {
  // POST is the only method that writes, and the only one besides GET a cross-site form can send; any other gets
  // its 405 (or 404) from the routes.
  if (req.method === 'POST' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new CutoverError('UNSUPPORTED_MEDIA_TYPE', 415, 'write calls must send Content-Type: application/json');
  }
  if (open && !isLoopbackHost(req.headers.host ?? '')) {
    throw new CutoverError('FORBIDDEN', 403, 'without an admin token the API answers only requests addressed to a loopback host');
  }
}

/**
 * A CORS preflight (Fetch standard, "CORS protocol") gets no Access-Control-* header, so the browser never sends the
 * call it asked about. OPTIONS means nothing else here; a 405 names the methods that do (RFC 9110 §15.5.6).
 */
function refusePreflight(res: ServerResponse): void {
  const message = 'the admin API answers no OPTIONS request or CORS preflight: pages on other origins may not call it';
  sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message } }, { allow: 'GET, HEAD, POST' });
}

function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0]!;
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  sendText(res, status, text, 'application/json; charset=utf-8', headers);
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

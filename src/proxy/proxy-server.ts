import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenAddress } from '../config/config.ts';
import { CutoverError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { TargetRegistry } from '../pool/target-registry.ts';
import { Forward, type ForwardFailureSink } from './forward.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { EMPTY_ROUTE_TABLE, type RouteTable } from './route-table.ts';
import { Router, targetSpecs, type RoutedApp } from './router.ts';

export interface ProxyServerOptions {
  readonly listen: ListenAddress;
  readonly registry: TargetRegistry;
  readonly log: Logger;
}

const KEEP_ALIVE_MS = 65_000;
const NO_APP = new CutoverError('NO_APP', 404, 'no app is configured for this host');
const SHUTDOWN_POLL_MS = 50;

/**
 * The public listener. It reads one compiled route table per request and never writes it; `apply` swaps in the
 * next one with a single assignment, which is what makes a switch atomic for every request that starts after it.
 */
export class ProxyServer implements ForwardFailureSink {
  private readonly server: Server;
  private router: Router;
  private table: RouteTable = EMPTY_ROUTE_TABLE;

  constructor(private readonly options: ProxyServerOptions) {
    this.router = new Router(EMPTY_ROUTE_TABLE, options.registry);
    this.server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, this.handle);
    this.server.on('clientError', onClientError);
  }

  get generation(): number {
    return this.table.generation;
  }

  /** Makes `table` the one every new request is routed by. */
  apply(table: RouteTable): void {
    const previous = this.table;
    const drainMs = (app: string) => table.apps.find((a) => a.name === app)?.drainMs ?? 0;
    this.options.registry.sync(targetSpecs(table), drainMs);
    this.router = new Router(table, this.options.registry);
    this.table = table;
    this.drainLeftLive(previous, table);
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.options.listen;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting, lets requests in flight finish for up to `drainMs`, then closes what is left. */
  async close(drainMs: number): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && (await connectionCount(this.server)) > 0) {
      this.server.closeIdleConnections();
      await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
    }
    this.server.closeAllConnections();
    await closed;
  }

  onForwardFailure(req: IncomingMessage, res: ServerResponse, app: RoutedApp, error: CutoverError): void {
    this.options.log.warn({ app: app.name, code: error.code, method: req.method, url: req.url }, error.message);
    sendError(res, error);
  }

  private readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const app = this.router.match(req.headers.host);
    if (app === null) return sendError(res, NO_APP);
    const env = app.live;
    if (env === null) return sendError(res, new CutoverError('NOT_DEPLOYED', 503, `app "${app.name}" has nothing live yet`));
    const socket = req.socket;
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      clientIp: socket.remoteAddress ?? '',
      proto: (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    });
    new Forward(req, res, app, env, headers, hasBody(req), this).start();
  };

  /** The environment that stopped being live finishes its requests on its old pools; new ones get fresh pools. */
  private drainLeftLive(previous: RouteTable, next: RouteTable): void {
    for (const before of previous.apps) {
      const after = next.apps.find((a) => a.name === before.name);
      if (before.live === null || after === undefined || after.live === before.live) continue;
      for (const url of after.envs[before.live].targets) {
        void this.options.registry.get(after.name, before.live, url)?.recyclePool(after.drainMs);
      }
    }
  }
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

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_err, count) => resolve(count ?? 0)));
}

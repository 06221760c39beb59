import type { Socket } from 'node:net';
import { tcpConnector, type Connector } from './connector.ts';
import { connected, dispatched } from './upstream-channels.ts';
import { SpareConnections } from './spare-connections.ts';
import { UpstreamConnection, type ConnectionOwner, type UpstreamHandler, type UpstreamRequest } from './upstream-connection.ts';
import { UpstreamConnectionError } from './upstream-connection-error.ts';

export interface ConnectionPoolOptions {
  /** Connections opened at most; requests beyond wait in first-come order. */
  readonly connections: number;
  readonly connectTimeoutMs?: number;
  /** See UpstreamConnectionOptions. */
  readonly responseTimeoutMs?: number;
  readonly keepAliveMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RESPONSE_TIMEOUT_MS = 300_000;
const DEFAULT_KEEP_ALIVE_MS = 4_000;

interface Waiting {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  /** Fails the request if its body fails while it waits (an error nobody heard would be thrown). */
  readonly onBodyError: ((err: Error) => void) | null;
}

/**
 * Keep-alive connections to one upstream, handed out from a free list: a connection that finishes its request
 * takes the oldest waiting one or goes on the list; one that closes leaves the pool, and makes room for a new one.
 */
export class ConnectionPool implements ConnectionOwner {
  private readonly connections = new Set<UpstreamConnection>();
  private readonly free: UpstreamConnection[] = [];
  private readonly waiting: Waiting[] = [];
  private readonly spares: SpareConnections;
  private readonly connect: Connector;
  private readonly connectionOptions: { origin: string; host: string; responseTimeoutMs: number; keepAliveMs: number };
  private closing: Promise<void> | null = null;
  private emptied: (() => void) | null = null;
  private destroyed = false;

  constructor(
    url: string,
    private readonly options: ConnectionPoolOptions,
  ) {
    this.connect = tcpConnector(url, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    this.spares = new SpareConnections(this.connect);
    const { origin, host } = new URL(url);
    this.connectionOptions = {
      origin,
      host,
      responseTimeoutMs: options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS,
      keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    };
  }

  /** Connections open, and spares opening. */
  get size(): number {
    let open = 0;
    for (const connection of this.connections) if (connection.open) open++;
    return open + this.spares.count;
  }

  /**
   * Requests are coming (traffic has just moved here): opens spare connections so that `n` are ready for them,
   * counting the free ones, within the pool's limit.
   */
  warm(n: number): void {
    if (this.closing !== null || this.destroyed) return;
    const room = this.options.connections - this.connections.size - this.spares.count;
    this.spares.open(Math.min(room, n - this.free.length - this.spares.count));
  }

  /**
   * Sends the request on a free connection, a new one, or the first to come free. `fresh`: on a connection opened
   * for it (a retry after a kept-alive one turned out closed: the others sat idle as long), making room by closing
   * a free one at the limit.
   */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler, fresh = false): void {
    if (dispatched.hasSubscribers) dispatched.publish({ origin: this.connectionOptions.origin, method: request.method, path: request.path });
    if (this.closing !== null || this.destroyed) {
      queueMicrotask(() => handler.onError(new UpstreamConnectionError('POOL_CLOSED', 'the connection pool is closing')));
      return;
    }
    if (fresh && this.free.length > 0 && this.connections.size >= this.options.connections) this.free.pop()!.close();
    const free = fresh ? undefined : this.free.pop();
    if (free !== undefined) {
      if (!free.send(request, handler)) this.free.push(free);
      return;
    }
    if (this.connections.size >= this.options.connections) return this.enqueue(request, handler);
    this.openFor(request, handler, !fresh);
  }

  /** A request that waits for a connection and will not need one any more (its client went away): it fails with `err`. */
  cancel(handler: UpstreamHandler, err: Error): void {
    const at = this.waiting.findIndex((w) => w.handler === handler);
    if (at === -1) return;
    const [entry] = this.waiting.splice(at, 1);
    this.unqueue(entry!);
    handler.onError(err);
    this.checkEmpty();
  }

  /**
   * Moves the connections with nothing in flight to `next`, the pool that replaces this one: the environment it
   * serves starts warm when it is live again, instead of opening a connection on its first request. What is
   * running stays here, to be drained.
   */
  handIdleTo(next: ConnectionPool): void {
    if (this.closing !== null || this.destroyed) return;
    for (const connection of this.free.splice(0)) {
      this.connections.delete(connection);
      next.adopt(connection);
    }
  }

  /** Takes no new request; resolves once every waiting and running one has finished and the connections closed. */
  close(): Promise<void> {
    this.spares.close();
    this.closing ??= new Promise<void>((resolve) => {
      this.emptied = resolve;
      for (const connection of this.free.splice(0)) connection.close();
      this.checkEmpty();
    });
    return this.closing;
  }

  /** Ends every connection now: running requests fail with `err`, and so do waiting ones. */
  async destroy(err: Error): Promise<void> {
    this.destroyed = true;
    this.spares.close();
    for (const entry of this.waiting.splice(0)) {
      this.unqueue(entry);
      entry.handler.onError(err);
    }
    this.free.length = 0;
    for (const connection of [...this.connections]) connection.destroy(err);
    this.checkEmpty();
  }

  onFree(connection: UpstreamConnection): void {
    if (this.destroyed) return connection.close();
    // The oldest waiting request takes it; one whose client has gone declines and leaves it to the next.
    for (let next = this.dequeue(); next !== undefined; next = this.dequeue()) {
      if (connection.send(next.request, next.handler)) return;
    }
    this.checkEmpty();
    if (this.closing !== null) return connection.close();
    this.free.push(connection);
  }

  onGone(connection: UpstreamConnection): void {
    if (!this.connections.delete(connection)) return;
    const at = this.free.indexOf(connection);
    if (at !== -1) this.free.splice(at, 1);
    // Its place is free: the oldest waiting request takes it on a new connection.
    if (!this.destroyed) {
      for (let next = this.dequeue(); next !== undefined; next = this.dequeue()) {
        if (this.openFor(next.request, next.handler)) break;
      }
    }
    this.checkEmpty();
  }

  /** A free connection from the pool this one replaces; closed if this pool has no room or no use for it. */
  private adopt(connection: UpstreamConnection): void {
    if (this.closing !== null || this.destroyed || this.connections.size >= this.options.connections) return connection.close();
    connection.moveTo(this);
    this.connections.add(connection);
    this.free.push(connection);
  }

  private enqueue(request: UpstreamRequest, handler: UpstreamHandler): void {
    const body = request.body;
    const entry: Waiting = { request, handler, onBodyError: body === null ? null : (err) => this.cancel(handler, err) };
    if (entry.onBodyError !== null) body!.on('error', entry.onBodyError);
    this.waiting.push(entry);
  }

  private dequeue(): Waiting | undefined {
    const entry = this.waiting.shift();
    if (entry !== undefined) this.unqueue(entry);
    return entry;
  }

  private unqueue(entry: Waiting): void {
    if (entry.onBodyError !== null) entry.request.body!.off('error', entry.onBodyError);
  }

  /**
   * A new connection for `request`: a spare if one is ready or opening, else one opened now. False when the request
   * declined it (its client had gone): no connection is opened.
   */
  private openFor(request: UpstreamRequest, handler: UpstreamHandler, spares = true): boolean {
    const connection = new UpstreamConnection(this, this.connectionOptions);
    const spare = spares ? this.spares.takeReady() : null;
    if (spare !== null) return this.sendOnSpare(connection, spare, request, handler);
    if (!connection.send(request, handler)) return false;
    this.connections.add(connection);
    const opened: Parameters<Connector>[0] = (err, socket) => {
      if (err !== null) return connection.connectFailed(err);
      this.publishConnected();
      connection.attach(socket!, false);
    };
    if (!spares || !this.spares.takeOpening(opened)) this.connect(opened);
    return true;
  }

  /**
   * `request` on a spare that is open: the connection sat idle, so the upstream may have closed it meanwhile, as a
   * kept-alive one (the handler hears it as reused). Declined, the spare is closed (it was never this pool's).
   */
  private sendOnSpare(connection: UpstreamConnection, spare: Socket, request: UpstreamRequest, handler: UpstreamHandler): boolean {
    this.publishConnected();
    connection.attach(spare, true);
    if (!connection.send(request, handler)) {
      connection.close();
      return false;
    }
    this.connections.add(connection);
    return true;
  }

  private publishConnected(): void {
    if (connected.hasSubscribers) connected.publish({ origin: this.connectionOptions.origin });
  }

  /** A closing pool with nothing left resolves its close. */
  private checkEmpty(): void {
    if (this.emptied === null || this.connections.size > 0 || this.waiting.length > 0) return;
    this.emptied();
    this.emptied = null;
  }
}

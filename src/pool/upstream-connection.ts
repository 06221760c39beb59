import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { written } from './upstream-channels.ts';
import { hasField, requestLines } from './request-head.ts';
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.ts';
import { UpstreamConnectionError } from './upstream-connection-error.ts';

/** One request as the proxy sends it upstream. */
export interface UpstreamRequest {
  readonly method: string;
  /** The request target in origin form (`/path?query`). */
  readonly path: string;
  /** Flat [name, value, ...], already stripped of hop-by-hop fields. */
  readonly headers: readonly string[];
  /** Streamed after the head: as it is when the headers carry a Content-Length, else chunked. */
  readonly body: Readable | null;
}

/** Hears how one request goes. After onComplete or onError nothing more is heard. */
export interface UpstreamHandler {
  /**
   * The request has a connection; `abort` ends it (the handler then hears onError with `err`). Aborted from within
   * this call, nothing is sent and the connection stays open for the next request. `reused`: the connection carried
   * a request before, so the upstream may have closed it as it sat idle.
   */
  onConnect(abort: (err?: Error) => void, reused: boolean): void;
  /** The final response's head; `resume` restarts reading after onData returned false. */
  onHeaders(status: number, headers: string[], resume: () => void, statusText: string): boolean;
  /** A piece of the body; false: stop reading until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

/** The pool a connection belongs to: told when it can take a request again, and when it is gone for good. */
export interface ConnectionOwner {
  onFree(connection: UpstreamConnection): void;
  onGone(connection: UpstreamConnection): void;
}

export interface UpstreamConnectionOptions {
  /** `http://host:port`, as published for tracing. */
  readonly origin: string;
  /** Host header for a request without one (an HTTP/1.0 client's): the target's `host:port`. */
  readonly host: string;
  /** A request fails when nothing moves on its connection, either way, for this long. */
  readonly responseTimeoutMs: number;
  /** An idle connection is closed after this long; less when the upstream's Keep-Alive says so. */
  readonly keepAliveMs: number;
}

/** An upstream's `Keep-Alive: timeout` is cut by this much, so cutover closes first and never sends on a closing connection. */
const KEEP_ALIVE_MARGIN_MS = 1_000;
const NO_RESPONSE = 'closed the connection before the whole response had come';

/**
 * One keep-alive HTTP/1.1 connection to an upstream, carrying one request at a time. It writes each request's head
 * at once (no wait for the end of the event loop's turn) and reads the response with ResponseParser, passing its
 * head and body to the request's handler with backpressure. A connection that cannot be trusted with another
 * request (`Connection: close`, a body read until close, a request body not fully sent, any error) is closed after
 * its response; its owner hears onGone.
 */
export class UpstreamConnection implements ResponseSink {
  private socket: Socket | null = null;
  private handler: UpstreamHandler | null = null;
  /** A request that came before the socket was open, written once it is. */
  private pending: UpstreamRequest | null = null;
  private readonly parser = new ResponseParser(this);
  /** The request body being written, until its end. */
  private body: Readable | null = null;
  /** Stops listening to `body`: set while it is written. */
  private unlistenBody: (() => void) | null = null;
  /** The body is paused because the upstream does not take it as fast as it comes (not because the client is slow). */
  private bodyWaitsForUpstream = false;
  /** Within the handler's onConnect: an abort then sends nothing and keeps the connection. */
  private starting = false;
  /** The response ended within the data being read: the owner hears onFree once that data is read. */
  private ended = false;
  private gone = false;
  /** Requests written on this connection, for tracing and to tell a reused connection. */
  private requests = 0;
  /** The connection sat idle before its first request (see attach). */
  private idled = false;
  private deadline = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private readonly resume = () => this.socket?.resume();

  constructor(
    private owner: ConnectionOwner,
    private readonly options: UpstreamConnectionOptions,
  ) {}

  /** Whether the connection is open (not still opening, not gone). */
  get open(): boolean {
    return this.socket !== null && !this.gone;
  }

  /** Belongs to another pool from now on (an idle connection handed to the pool that replaces this one). */
  moveTo(owner: ConnectionOwner): void {
    this.owner = owner;
  }

  /**
   * The connection opened: its socket. A request that waited for it is written now. `idled`: it was opened ahead
   * and sat idle (a spare), so its first request is on a connection the upstream may have closed, as a reused one.
   */
  attach(socket: Socket, idled: boolean): void {
    if (this.gone) return void socket.destroy();
    this.socket = socket;
    this.idled = idled;
    socket.on('data', (data: Buffer) => this.onSocketData(data));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('end', () => this.onSocketEnd());
    socket.on('close', () => this.onSocketEnd());
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) this.write(pending);
    else if (this.handler === null) this.idle();
  }

  /** The connection could not be opened: the request waiting for it fails with `err`. */
  connectFailed(err: Error): void {
    this.fail(err);
  }

  /**
   * Sends `request`; the connection must be free (new, or handed back by onFree). False when the handler aborted it
   * at once (its client had gone while it waited for a connection): nothing was sent, and the connection is still free.
   */
  send(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    this.handler = handler;
    this.ended = false;
    this.starting = true;
    handler.onConnect((err) => this.abort(handler, err ?? new Error('aborted')), this.requests > 0 || this.idled);
    this.starting = false;
    if (this.handler !== handler) return false;
    // Heard from the start, even while the connection opens: the body can fail before a byte of it is sent (the
    // app's size limit, the client gone), and an error nobody hears would be thrown. It stays heard after the request.
    request.body?.on('error', (err: Error) => {
      if (this.handler === handler) this.fail(err);
    });
    this.parser.expect(request.method === 'HEAD');
    if (this.socket === null) this.pending = request;
    else this.write(request);
    return true;
  }

  /** Closes the connection; a request on it fails with `err`. */
  destroy(err: Error): void {
    this.fail(err);
  }

  /** Closes an idle connection, quietly. */
  close(): void {
    this.fail(null);
  }

  // ResponseSink: what the parser read.

  onHead(head: ResponseHead): void {
    this.handler?.onHeaders(head.status, head.headers, this.resume, head.statusText);
  }

  onBody(chunk: Buffer): void {
    if (this.handler !== null && !this.handler.onData(chunk)) this.socket?.pause();
  }

  onEnd(): void {
    const handler = this.handler;
    this.handler = null;
    this.ended = true;
    handler?.onComplete();
  }

  private write(request: UpstreamRequest): void {
    const socket = this.socket!;
    const chunked = request.body !== null && !hasField(request.headers, 'content-length');
    socket.write(requestHead(request, chunked, this.options.host), 'latin1');
    if (written.hasSubscribers) written.publish({ origin: this.options.origin, method: request.method, path: request.path, fresh: this.requests === 0 });
    this.requests++;
    this.armTimeout(this.options.responseTimeoutMs);
    if (request.body !== null) this.sendBody(request.body, chunked);
  }

  private abort(handler: UpstreamHandler, err: Error): void {
    if (this.handler !== handler) return;
    if (!this.starting) return this.fail(err);
    this.handler = null;
    handler.onError(err);
  }

  /**
   * Streams the request body with backpressure; chunked framing when the length is not known (RFC 9112 §7.1). A body
   * a failed attempt left paused (a retry) is resumed; one that ended before any byte of it was read has only its end.
   */
  private sendBody(body: Readable, chunked: boolean): void {
    const socket = this.socket!;
    this.body = body;
    const onData = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      this.touch();
      if (chunked) socket.write(`${chunk.length.toString(16)}\r\n`);
      const ok = socket.write(chunk);
      if (chunked ? socket.write('\r\n') : ok) return;
      this.bodyWaitsForUpstream = true;
      body.pause();
    };
    const onEnd = () => {
      if (chunked) socket.write('0\r\n\r\n');
      this.releaseBody();
    };
    // A body that closes without its end (the client went away) leaves the request incomplete.
    const onClose = () => this.fail(new Error('the request body ended before its length'));
    this.unlistenBody = () => void body.off('data', onData).off('end', onEnd).off('close', onClose);
    if (body.readableEnded) return onEnd();
    body.on('data', onData).on('end', onEnd).on('close', onClose);
    body.resume();
  }

  /** This connection is done with the request body: sent, or given up (then paused, for a retry or to be discarded). */
  private releaseBody(): void {
    if (this.body === null) return;
    this.unlistenBody?.();
    if (!this.body.readableEnded) this.body.pause();
    this.body = null;
    this.unlistenBody = null;
    this.bodyWaitsForUpstream = false;
  }

  private onSocketDrain(): void {
    if (!this.bodyWaitsForUpstream) return;
    this.bodyWaitsForUpstream = false;
    this.body?.resume();
  }

  private onSocketData(data: Buffer): void {
    if (this.handler !== null) this.touch();
    try {
      this.parser.feed(data);
    } catch (err) {
      return this.fail(err as Error);
    }
    if (this.ended) this.afterResponse();
  }

  /** The response ended: the connection goes back to its owner, or closes if it may not carry another. */
  private afterResponse(): void {
    this.ended = false;
    const hint = this.parser.keepAliveMs;
    const idleMs = hint >= 0 ? Math.min(this.options.keepAliveMs, hint - KEEP_ALIVE_MARGIN_MS) : this.options.keepAliveMs;
    // A request body still being sent when the answer came (e.g. an early 413) leaves the connection mid-request.
    if (!this.parser.reusable || this.body !== null || idleMs <= 0 || this.gone) return this.fail(null);
    // Paused for the last response's client, whose body then ended within the same read.
    this.socket!.resume();
    this.idle(idleMs);
    this.owner.onFree(this);
  }

  private onSocketEnd(): void {
    if (this.gone) return;
    // A body read until the connection closes ends here (RFC 9112 §6.3, rule 8).
    if (this.handler !== null && this.parser.closed()) {
      this.ended = false;
      return this.fail(null);
    }
    this.fail(this.handler === null ? null : new UpstreamConnectionError('CLOSED', NO_RESPONSE));
  }

  /** Ends the connection for good; the request on it, if any, fails with `err` (none: it had completed). */
  private fail(err: Error | null): void {
    const handler = this.handler;
    this.handler = null;
    this.pending = null;
    // Before the handler hears of it: a retry may send the same body on another connection.
    this.releaseBody();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (!this.gone) {
      this.gone = true;
      this.socket?.destroy();
      this.owner.onGone(this);
    }
    if (handler !== null) handler.onError(err ?? new UpstreamConnectionError('CLOSED', NO_RESPONSE));
  }

  private idle(ms = this.options.keepAliveMs): void {
    this.armTimeout(ms);
  }

  /** Something moved on the connection: the request's timeout starts again. */
  private touch(): void {
    this.deadline = performance.now() + this.options.responseTimeoutMs;
  }

  /**
   * The connection fails (with a request) or closes (idle) once nothing moved for `ms`. One timer per connection,
   * re-armed only when it fires early or the new deadline comes before it: activity just moves the deadline.
   */
  private armTimeout(ms: number): void {
    const now = performance.now();
    this.deadline = now + ms;
    if (this.timer !== null && this.timerAt <= this.deadline) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.startTimer(ms, now);
  }

  private startTimer(ms: number, now: number): void {
    this.timerAt = now + ms;
    this.timer = setTimeout(() => this.onTimer(), ms);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    const now = performance.now();
    if (this.deadline - now >= 1) return this.startTimer(this.deadline - now, now);
    if (this.handler === null) return this.close();
    // The client is the slow one (it reads the response slowly, or its upload stalls): the upstream is not keeping the
    // request waiting. Node's server times out a client that takes too long (`requestTimeout`).
    const clientUploads = this.body !== null && !this.bodyWaitsForUpstream;
    if (this.socket?.isPaused() === true || clientUploads) return this.startTimer(this.options.responseTimeoutMs, now);
    this.fail(new UpstreamConnectionError('RESPONSE_TIMEOUT', `sent nothing for ${this.options.responseTimeoutMs} ms`));
  }
}

/** The head of `request`: a Host for a request without one (an HTTP/1.0 client's), chunked framing when asked. */
function requestHead(request: UpstreamRequest, chunked: boolean, host: string): string {
  let head = requestLines(request.method, request.path, request.headers);
  if (!hasField(request.headers, 'host')) head += `host: ${host}\r\n`;
  return chunked ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`;
}

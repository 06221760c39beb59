import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { CutoverError, NoHealthyTargetError, UpstreamError, UpstreamTimeoutError } from '../core/errors.ts';
import { describeError } from '../health/health-probe.ts';
import { pickTarget } from '../pool/balancer.ts';
import type { InFlightEntry } from '../pool/in-flight.ts';
import type { Drainable } from '../pool/pool-generation.ts';
import type { ConnectionPool } from '../pool/connection-pool.ts';
import type { Target } from '../pool/target.ts';
import type { UpstreamHandler } from '../pool/upstream-connection.ts';
import { UpstreamConnectionError } from '../pool/upstream-connection-error.ts';
import { closeAfter } from './closing-connection.ts';
import { clientResponseHeaders, withoutContentLength } from './headers.ts';
import type { RoutedApp, RoutedEnv } from './router.ts';
import type { TrafficRecorder } from './traffic.ts';
import type { AccessLogSink } from '../log/access-log.ts';
import type { UpstreamErrorKind, UpstreamErrorSink } from '../stats/upstream-errors.ts';

/** Where a forward that could not be completed reports its error; the proxy answers and logs it. */
export interface ForwardFailureSink {
  onForwardFailure(req: IncomingMessage, res: ServerResponse, app: RoutedApp, error: CutoverError): void;
  /** The upstream failed after part of the response was sent: the client's connection is cut; only logged. */
  onResponseCut(req: IncomingMessage, app: RoutedApp, error: CutoverError): void;
}

const CLIENT_CLOSED = 499;
const DRAINED = new CutoverError('DRAINED', 503, 'the environment this request was on finished draining; retry');
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures that happen before the upstream could have acted on the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** Failures of an established connection before any response byte (the pool's closing counts: nothing was sent). */
const RESET = new Set(['ECONNRESET', 'CLOSED', 'EPIPE', 'POOL_CLOSED']);

export interface ForwardContext {
  readonly app: RoutedApp;
  readonly env: RoutedEnv;
  readonly headers: string[];
  readonly hasBody: boolean;
  /** The body to send instead of the request itself (a size-limited copy of it); null: the request. */
  readonly body?: Readable | null;
  readonly failures: ForwardFailureSink;
  /** Counts the request for the environment's stats; null for traffic that is not counted (preview). */
  readonly recorder: TrafficRecorder | null;
  readonly upstreamErrors: UpstreamErrorSink | null;
  readonly accessLog: AccessLogSink | null;
}

/**
 * One request's trip to an upstream: the handler of its upstream connection, which streams the response to the
 * client with backpressure, aborts upstream when the client goes away, and retries once on another target when the
 * connection failed before any response byte and resending is safe.
 */
export class Forward implements UpstreamHandler, Drainable {
  private target: Target | null = null;
  /** The target whose in-flight count this request holds, until it completes or fails. */
  private counted: Target | null = null;
  /** Where this request is registered for a drain to find it. */
  private tracked: InFlightEntry<Drainable> | null = null;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** The pool the request was handed to: it may wait there for a connection, and be taken back if its client goes. */
  private pool: ConnectionPool | null = null;
  /** The request is on a connection that carried one before (see UpstreamHandler.onConnect). */
  private reused = false;
  /** A retry may go to the same target: the first attempt failed on a kept-alive connection the upstream had closed. */
  private retrySame = false;
  /** Waiting for the client's 'drain' to read on from the upstream. */
  private waitingForDrain = false;
  private responded = false;
  private finished = false;
  private attempts = 0;
  private firstError: CutoverError | null = null;
  private status = 0;
  private readonly startedAt = performance.now();
  /** Time to the response head: what analysis judges, so long downloads and streams do not count as slow. */
  private headMs = 0;
  private bytes = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly ctx: ForwardContext,
  ) {
    // An inline arrow, not a bound field: one closure per request, created where it is needed.
    res.on('close', () => this.onClientClose());
  }

  start(): void {
    const { app, env } = this.ctx;
    const previous = this.target;
    const target = pickTarget(env.targets, app.cursor++, previous) ?? (this.retrySame ? previous : null);
    // No other target for the retry: the first attempt's error says more than "no target".
    if (target === null) return this.fail(this.firstError ?? new NoHealthyTargetError(app.name));
    this.attempts++;
    this.target = target;
    this.counted = target;
    this.tracked = target.track(this);
    target.inflight++;
    target.requests++;
    this.pool = target.dispatcher;
    this.abortUpstream = null;
    this.pool.dispatch(
      {
        path: this.req.url ?? '/',
        method: this.req.method ?? 'GET',
        headers: this.ctx.headers,
        body: this.ctx.hasBody ? this.body : null,
      },
      this,
      // Retried on the target whose kept-alive connection was closed: on a new one, not another that sat idle as long.
      target === previous,
    );
  }

  onConnect(abort: (err?: Error) => void, reused: boolean): void {
    this.abortUpstream = abort;
    this.reused = reused;
    if (this.finished) abort();
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    const headers = clientResponseHeaders(rawHeaders);
    this.closeIfUploadUnread();
    try {
      // RFC 9110 §8.6: a 204 carries no Content-Length; an upstream's would be a protocol error to an HTTP/2 client.
      this.res.writeHead(statusCode, statusText, statusCode === 204 ? withoutContentLength(headers) : headers);
    } catch (err) {
      // Node refuses a field it cannot send (a control character in a value): nothing went to the client yet. It kept
      // the upstream's reason phrase, which the 502 must not carry.
      this.res.statusMessage = '';
      throw new UpstreamConnectionError('BAD_RESPONSE', `sent a header that cannot be relayed (${(err as Error).message})`);
    }
    this.responded = true;
    this.status = statusCode;
    this.headMs = performance.now() - this.startedAt;
    this.resumeUpstream = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.res.write(chunk)) return true;
    // The rest of the upstream's read still comes after a false; one 'drain' listener is enough for all of it.
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.res.once('drain', () => {
        this.waitingForDrain = false;
        this.resumeUpstream?.();
      });
    }
    return false;
  }

  onComplete(): void {
    this.release();
    this.finished = true;
    this.res.end();
    this.ctx.recorder?.record(this.status, this.headMs);
    this.logAccess(this.status);
  }

  onError(err: Error): void {
    this.release();
    if (this.finished) return;
    // Our own refusal (the body passed the app's limit) is answered as it is, not as an upstream failure.
    if (err instanceof CutoverError) return this.refuse(err);
    const code = errorCode(err);
    this.ctx.upstreamErrors?.count(this.ctx.app.name, this.ctx.env.color, upstreamErrorKind(code));
    if (this.responded) {
      // Part of the response is already with the client: the only honest signal left is a cut connection.
      this.finished = true;
      this.ctx.recorder?.record(502, this.headMs);
      this.logAccess(502);
      this.ctx.failures.onResponseCut(this.req, this.ctx.app, translate(err, code, this.target));
      this.res.destroy(err);
      return;
    }
    const connectionFailure = NOT_CONNECTED.has(code) || RESET.has(code);
    const error = translate(err, code, this.target);
    // A kept-alive connection the upstream closed as the request went out (its idle time was up) may say nothing
    // about the target: the retry may go to it again, on another connection, and what that retry meets is what counts.
    this.retrySame = this.reused && RESET.has(code);
    const retry = connectionFailure && this.attempts === 1 && this.canResend(code) && (this.ctx.env.targets.length > 1 || this.retrySame);
    if (connectionFailure && !(retry && this.retrySame)) this.target?.onTrafficFailure(describeError(err));
    if (retry) {
      this.firstError = error;
      return this.start();
    }
    this.fail(error);
  }

  /**
   * The drain time of this request's environment is over. A response under way is ended cleanly (a stream or SSE
   * sees its end, not a reset); one that has not started gets 503, so a long poll retries against the new live env.
   */
  endGracefully(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
    this.stopUpstream(new Error('the drain time is over'));
    if (this.responded) {
      // A chunked stream (SSE, a long download without a length) can end cleanly; a body with a Content-Length
      // cannot end early without the client reading it as complete, so that connection is cut instead.
      if ((this.res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding) this.res.end();
      else this.res.destroy();
      return;
    }
    this.res.setHeader('retry-after', '0');
    this.ctx.failures.onForwardFailure(this.req, this.res, this.ctx.app, DRAINED);
  }

  private logAccess(status: number): void {
    const log = this.ctx.accessLog;
    if (log === null) return;
    const target = this.target?.url ?? null;
    const durationMs = performance.now() - this.startedAt;
    log.log({ app: this.ctx.app.name, env: this.ctx.env.color, target, method: this.req.method ?? '', status, bytes: this.bytes, durationMs });
  }

  /** The request must not go on (its body grew past the app's limit): answer `error`, closing the connection. */
  private refuse(error: CutoverError): void {
    if (this.responded) {
      this.finished = true;
      this.res.destroy(error);
      return;
    }
    closeAfter(this.req, this.res);
    this.fail(error);
  }

  /** What is sent upstream as the body: the request, or its size-limited copy. */
  private get body(): Readable {
    return this.ctx.body ?? this.req;
  }

  /**
   * An answer that comes before the whole upload was read (a 401, a 413, a failure): the rest is never read, so the
   * client's connection cannot carry another request and closes after the answer.
   */
  private closeIfUploadUnread(): void {
    if (this.ctx.hasBody && !this.body.readableEnded) closeAfter(this.req, this.res);
  }

  /** Ends the request upstream: on its connection, or in its pool's queue while it waits for one. */
  private stopUpstream(err: Error): void {
    if (this.abortUpstream !== null) this.abortUpstream(err);
    else this.pool?.cancel(this, err);
  }

  private canResend(code: string): boolean {
    const bodyUntouched = !this.ctx.hasBody || !this.body.readableDidRead;
    if (NOT_CONNECTED.has(code)) return bodyUntouched;
    return bodyUntouched && IDEMPOTENT.has(this.req.method ?? '');
  }

  private fail(error: CutoverError): void {
    this.finished = true;
    this.closeIfUploadUnread();
    this.ctx.recorder?.record(error.status, performance.now() - this.startedAt);
    this.logAccess(error.status);
    this.ctx.failures.onForwardFailure(this.req, this.res, this.ctx.app, error);
  }

  private release(): void {
    if (this.counted !== null) this.counted.inflight--;
    this.counted = null;
    this.tracked?.remove();
    this.tracked = null;
    this.resumeUpstream = null;
  }

  private onClientClose(): void {
    if (this.finished) return;
    this.finished = true;
    // A client that gave up before the response head still counts as a request (499, as nginx logs it), so a
    // version too slow to answer does not look better for having fewer requests.
    if (this.responded) this.ctx.recorder?.record(this.status, this.headMs);
    else this.ctx.recorder?.record(CLIENT_CLOSED, performance.now() - this.startedAt);
    this.logAccess(this.responded ? this.status : CLIENT_CLOSED);
    if (!this.res.writableFinished) this.stopUpstream(new Error('client went away'));
  }
}

function upstreamErrorKind(code: string): UpstreamErrorKind {
  if (code === 'RESPONSE_TIMEOUT' || code === 'CONNECT_TIMEOUT') return 'timeout';
  if (NOT_CONNECTED.has(code)) return 'connect';
  if (RESET.has(code)) return 'reset';
  return 'other';
}

function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? ((err.cause as { code?: string } | undefined)?.code ?? '');
}

function translate(err: Error, code: string, target: Target | null): CutoverError {
  const where = target === null ? 'the upstream' : target.url;
  if (code === 'RESPONSE_TIMEOUT' || code === 'CONNECT_TIMEOUT') {
    return new UpstreamTimeoutError(`${where} did not answer in time`, err);
  }
  if (NOT_CONNECTED.has(code)) return new UpstreamError('UPSTREAM_CONNECT', `${where} refused the connection`, err);
  if (code === 'BAD_RESPONSE') return new UpstreamError('UPSTREAM_BAD_RESPONSE', `${where} ${err.message}`, err);
  if (RESET.has(code)) return new UpstreamError('UPSTREAM_RESET', `${where} closed the connection`, err);
  return new UpstreamError('UPSTREAM_ERROR', `${where} failed: ${err.message}`, err);
}

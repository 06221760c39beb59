// Deployment events POSTed as JSON to the URLs in `webhooks:`. Delivery never holds up a deployment: send() only
// queues, each URL's queue is delivered in order by its own loop, and a URL that is down costs a bounded queue and
// a warning, not an error anywhere else.

import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import type { WebhooksConfig } from '../config/config.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import { describeError } from '../health/health-probe.ts';

export interface WebhookSenderOptions extends WebhooksConfig {
  readonly log?: Logger;
  readonly dispatcher?: Dispatcher;
  /** The wait before the first retry; each further retry waits twice as long, up to MAX_BACKOFF_MS. */
  readonly backoffMs?: number;
  /** Events waiting for one URL before the oldest is dropped. */
  readonly maxPending?: number;
}

export class WebhookSender {
  private readonly endpoints: Endpoint[];
  private readonly log: Logger;

  constructor(options: WebhookSenderOptions) {
    this.log = options.log ?? silentLogger;
    const delivery: Delivery = {
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
      maxPending: options.maxPending ?? DEFAULT_MAX_PENDING,
      dispatcher: options.dispatcher ?? null,
      log: this.log,
    };
    this.endpoints = options.urls.map((url) => new Endpoint(url, delivery));
  }

  /** Queues `event` for every URL and returns at once. Never throws. */
  send(event: object): void {
    let body: string;
    try {
      body = JSON.stringify(event);
    } catch (err) {
      // A cycle or a BigInt in an event is a bug upstream; it must not break the deployment that emitted it.
      this.log.warn({ err: (err as Error).message }, 'webhook event is not JSON; not sent');
      return;
    }
    for (const endpoint of this.endpoints) endpoint.enqueue(body);
  }

  /** Resolves once every queued event was delivered or given up on; for shutdown and tests. */
  async flush(): Promise<void> {
    await Promise.all(this.endpoints.map((endpoint) => endpoint.idle()));
  }

  /** Events queued or being delivered, over all URLs. */
  get pending(): number {
    return this.endpoints.reduce((sum, endpoint) => sum + endpoint.pending, 0);
  }
}

export const DEFAULT_BACKOFF_MS = 500;
export const MAX_BACKOFF_MS = 30_000;
export const DEFAULT_MAX_PENDING = 1_000;

interface Delivery {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxPending: number;
  readonly dispatcher: Dispatcher | null;
  readonly log: Logger;
}

type Attempt = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly why: string };

/** One URL: a FIFO of event bodies, delivered one at a time so that a receiver sees the phases in order. */
class Endpoint {
  private readonly queue: string[] = [];
  private readonly url: string;
  private readonly headers: Record<string, string>;
  /** For logs: webhook URLs often carry a secret in their path (Slack, Discord), so only the origin is shown. */
  private readonly shown: string;
  private loop: Promise<void> | null = null;
  private inFlight = 0;
  private dropped = 0;

  constructor(url: string, private readonly delivery: Delivery) {
    const parsed = new URL(url);
    this.headers = { 'content-type': 'application/json', 'user-agent': 'cutover', ...basicAuth(parsed) };
    parsed.username = '';
    parsed.password = '';
    this.url = parsed.href;
    this.shown = parsed.pathname === '/' && parsed.search === '' ? parsed.origin : `${parsed.origin}/…`;
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  enqueue(body: string): void {
    if (this.queue.length >= this.delivery.maxPending) this.dropOldest();
    this.queue.push(body);
    this.loop ??= this.drain();
  }

  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private dropOldest(): void {
    this.queue.shift();
    // One warning per backlog, not one per event: a dead receiver would otherwise flood the log.
    if (this.dropped++ === 0) {
      this.delivery.log.warn({ url: this.shown, maxPending: this.delivery.maxPending }, 'webhook queue full; dropping the oldest events');
    }
  }

  private async drain(): Promise<void> {
    // Deferred a tick, so that send() returns before any delivery work starts.
    await Promise.resolve();
    for (let body = this.queue.shift(); body !== undefined; body = this.queue.shift()) {
      this.inFlight = 1;
      await this.deliver(body);
      this.inFlight = 0;
    }
    if (this.dropped > 0) this.delivery.log.warn({ url: this.shown, dropped: this.dropped }, 'webhook backlog cleared');
    this.dropped = 0;
    this.loop = null;
  }

  private async deliver(body: string): Promise<void> {
    const { retries, log } = this.delivery;
    for (let attempt = 0; ; attempt++) {
      const result = await this.post(body);
      if (result.ok) return;
      if (!result.retry || attempt >= retries) {
        log.warn({ url: this.shown, attempts: attempt + 1, why: result.why }, 'webhook not delivered');
        return;
      }
      await sleep(Math.min(this.delivery.backoffMs * 2 ** attempt, MAX_BACKOFF_MS));
    }
  }

  private async post(body: string): Promise<Attempt> {
    const { timeoutMs, dispatcher } = this.delivery;
    try {
      const response = await request(this.url, {
        method: 'POST',
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      });
      await response.body.dump();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { ok: true };
      return { ok: false, retry: isRetried(status), why: `answered ${status}` };
    } catch (err) {
      return { ok: false, retry: true, why: describeError(err) };
    }
  }
}

// 5xx and the two "try again later" answers (RFC 9110 §15.5.9, RFC 6585 §4); any other 4xx will not improve.
function isRetried(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

// undici drops the user:password of a URL silently; curl sends it as Basic auth, which is what the user meant.
function basicAuth(url: URL): Record<string, string> {
  if (url.username === '' && url.password === '') return {};
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

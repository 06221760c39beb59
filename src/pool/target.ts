import { Pool } from 'undici';
import type { HealthConfig } from '../config/config.ts';
import type { Color } from '../core/types.ts';
import { initialHealth, observe, type HealthState } from '../health/health-state.ts';
import type { ProbeListener } from '../health/health-probe.ts';

/** Told when a target enters or leaves the balancer. */
export interface TargetListener {
  onTargetHealth(target: Target, healthy: boolean, reason: string | null): void;
}

export interface TargetOptions {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly health: HealthConfig;
  readonly initiallyHealthy: boolean;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly listener: TargetListener;
  readonly clock: () => number;
}

export interface TargetStatus {
  readonly url: string;
  readonly healthy: boolean;
  readonly inflight: number;
  readonly requests: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly checkedAt: number | null;
}

const POOL_CONNECTIONS = 128;
const KEEP_ALIVE_MS = 4_000;

/**
 * One upstream instance: its keep-alive connection pool, in-flight count and health. Health comes from active
 * probes and from connection errors seen in live traffic; both go through the same threshold rule.
 */
export class Target implements ProbeListener {
  readonly key: string;
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  inflight = 0;
  requests = 0;
  private pool: Pool;
  private health: HealthState;
  private thresholds: HealthConfig;
  private trafficFailures = 0;

  constructor(private readonly options: TargetOptions) {
    this.app = options.app;
    this.color = options.color;
    this.url = options.url;
    this.key = targetKey(options.app, options.color, options.url);
    this.health = initialHealth(options.initiallyHealthy);
    this.thresholds = options.health;
    this.pool = this.newPool();
  }

  get healthy(): boolean {
    return this.health.healthy;
  }

  /** The pool new requests go to. Read at dispatch time: a recycled pool is never handed out again. */
  get dispatcher(): Pool {
    return this.pool;
  }

  /** New thresholds from a config reload; the current verdict stands until observations change it. */
  setThresholds(health: HealthConfig): void {
    this.thresholds = health;
  }

  onProbe(ok: boolean, error: string | null): void {
    this.record(ok, error);
  }

  /** A connection refused or reset in live traffic counts like a failed probe. */
  onTrafficFailure(error: string): void {
    this.trafficFailures++;
    this.record(false, error);
  }

  /**
   * Hands new requests to a fresh pool and lets the old one finish what it carries: requests in flight complete
   * (up to `drainMs`), then its sockets close. Used when this target's environment stops being live.
   */
  recyclePool(drainMs: number): Promise<void> {
    const old = this.pool;
    this.pool = this.newPool();
    return closeWithin(old, drainMs);
  }

  /** Closes the pool for good after in-flight requests finish, or after `drainMs`. */
  close(drainMs: number): Promise<void> {
    return closeWithin(this.pool, drainMs);
  }

  status(): TargetStatus {
    return {
      url: this.url,
      healthy: this.health.healthy,
      inflight: this.inflight,
      requests: this.requests,
      failures: this.trafficFailures,
      lastError: this.health.lastError,
      checkedAt: this.health.checkedAt,
    };
  }

  private record(ok: boolean, error: string | null): void {
    const before = this.health.healthy;
    this.health = observe(this.health, ok, error, this.options.clock(), this.thresholds);
    if (this.health.healthy !== before) this.options.listener.onTargetHealth(this, this.health.healthy, error);
  }

  private newPool(): Pool {
    return new Pool(this.options.url, {
      connections: POOL_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      connect: { timeout: this.options.connectTimeoutMs },
      headersTimeout: this.options.responseTimeoutMs,
      bodyTimeout: this.options.responseTimeoutMs,
    });
  }
}

export function targetKey(app: string, color: Color, url: string): string {
  return `${app}/${color}/${url}`;
}

async function closeWithin(pool: Pool, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
    timer.unref();
  });
  const outcome = await Promise.race([pool.close().then(() => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'late') await pool.destroy(new Error('drain time is over')).catch(() => {});
}

import type { HealthConfig } from '../config/config.ts';
import type { Color } from '../core/types.ts';
import { initialHealth, observe, type HealthState } from '../health/health-state.ts';
import type { ProbeListener } from '../health/health-probe.ts';
import { ConnectionPool } from './connection-pool.ts';
import type { InFlightEntry } from './in-flight.ts';
import { PoolGeneration, type Drainable } from './pool-generation.ts';

/** Told when a target enters or leaves the balancer. */
export interface TargetListener {
  onTargetHealth(target: Target, healthy: boolean, reason: string | null): void;
  /**
   * A connection error seen in live traffic. A listener that takes these (a data-path worker, reporting them to the
   * primary that judges health for every worker) decides; without one the target counts it against its own health.
   */
  onTrafficFailure?(target: Target, error: string): void;
}

/** What data-path workers report of a target in the primary: their in-flight work, for status. */
export interface RemoteLoad {
  inflight: number;
  websockets: number;
  draining: number;
}

export interface TargetOptions {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly health: HealthConfig;
  readonly initiallyHealthy: boolean;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** Connections to this target at most (see `upstreamConnections` in the config). */
  readonly connections: number;
  readonly listener: TargetListener;
  readonly clock: () => number;
}

export interface TargetStatus {
  readonly url: string;
  readonly healthy: boolean;
  readonly inflight: number;
  readonly requests: number;
  readonly websockets: number;
  /** Requests and WebSockets still open on this target's pools being drained. */
  readonly draining: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly checkedAt: number | null;
}

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
  /** Upgraded connections (WebSockets) open to this target. */
  websockets = 0;
  /** In the primary of data-path workers: the sum of what the workers last reported. */
  readonly remote: RemoteLoad = { inflight: 0, websockets: 0, draining: 0 };
  private current: PoolGeneration;
  private readonly draining = new Set<PoolGeneration>();
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
    this.current = new PoolGeneration(this.newPool());
  }

  get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs;
  }

  get healthy(): boolean {
    return this.health.healthy;
  }

  /** The pool new requests go to. Read at dispatch time: a recycled pool is never handed out again. */
  get dispatcher(): ConnectionPool {
    return this.current.pool;
  }

  /** Connections of the current pool, open or opening. */
  get connections(): number {
    return this.current.pool.size;
  }

  /** Traffic has just moved here: `n` connections ready for it (see ConnectionPool.warm). */
  warm(n: number): void {
    this.current.pool.warm(n);
  }

  /** Registers something in flight on the current pool, so a drain can end it; `remove()` the entry when it is done. */
  track(item: Drainable): InFlightEntry<Drainable> {
    return this.current.active.add(item);
  }

  /** Long-lived requests and tunnels still open on pools being drained. */
  get drainingCount(): number {
    let count = 0;
    for (const generation of this.draining) count += generation.active.size;
    return count;
  }

  /** Draining in this process and, in the primary of data-path workers, in the workers. */
  get drainingEverywhere(): number {
    return this.drainingCount + this.remote.draining;
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
    if (this.options.listener.onTrafficFailure !== undefined) this.options.listener.onTrafficFailure(this, error);
    else this.record(false, error);
  }

  /** Health as judged elsewhere (in a data-path worker: by the primary), taken as it is. */
  assumeHealth(healthy: boolean, reason: string | null): void {
    this.health = { ...this.health, healthy, lastError: healthy ? null : reason };
  }

  /**
   * Hands new requests to a fresh pool and drains the old one: what is in flight has `drainMs` to finish, then what
   * is left (streams, WebSockets) is ended over `jitterMs`. Used when this target's environment stops being live.
   * The old pool's idle connections move to the new one, so the environment is still warm if it is live again.
   */
  recyclePool(drainMs: number, jitterMs = 0): Promise<void> {
    const old = this.current;
    const pool = this.newPool();
    old.pool.handIdleTo(pool);
    this.current = new PoolGeneration(pool);
    // Generations kept when this environment was live again go with it (their drain is armed afresh).
    for (const kept of [...this.draining]) void this.drainGeneration(kept, drainMs, jitterMs);
    return this.drainGeneration(old, drainMs, jitterMs);
  }

  /** The environment is live again: connections still draining may stay open and finish on their own. */
  keepDraining(): void {
    for (const generation of this.draining) generation.keep();
  }

  /** Drains every pool for good (the target left the route table, or cutover stops). */
  close(drainMs: number, jitterMs = 0): Promise<void> {
    const all = [this.current, ...this.draining].map((g) => this.drainGeneration(g, drainMs, jitterMs));
    return Promise.all(all).then(() => {});
  }

  status(): TargetStatus {
    return {
      url: this.url,
      healthy: this.health.healthy,
      inflight: this.inflight + this.remote.inflight,
      requests: this.requests,
      websockets: this.websockets + this.remote.websockets,
      draining: this.drainingEverywhere,
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

  private drainGeneration(generation: PoolGeneration, drainMs: number, jitterMs: number): Promise<void> {
    this.draining.add(generation);
    return generation.drain(drainMs, jitterMs).finally(() => this.draining.delete(generation));
  }

  private newPool(): ConnectionPool {
    return new ConnectionPool(this.options.url, {
      connections: this.options.connections,
      keepAliveMs: KEEP_ALIVE_MS,
      connectTimeoutMs: this.options.connectTimeoutMs,
      responseTimeoutMs: this.options.responseTimeoutMs,
    });
  }
}

export function targetKey(app: string, color: Color, url: string): string {
  return `${app}/${color}/${url}`;
}

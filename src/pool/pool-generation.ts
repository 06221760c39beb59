import type { ConnectionPool } from './connection-pool.ts';
import { InFlight } from './in-flight.ts';

/** Something long-lived a drain may have to end: a streamed response, a long poll, a WebSocket tunnel. */
export interface Drainable {
  endGracefully(): void;
}

/** Time after the last jittered close before whatever still holds the pool is cut. */
const CUT_AFTER_MS = 1_000;

/**
 * One connection pool of a target and everything in flight on it. A target has one current generation; when its
 * environment stops being live the generation is drained: after `drainMs` what is still open is ended gracefully,
 * spread over `jitterMs` so clients do not all reconnect at once, and then the pool's sockets are closed.
 */
export class PoolGeneration {
  readonly active = new InFlight<Drainable>();
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | null = null;
  private finish: () => void = () => {};
  private poolClosed = false;
  private kept = false;

  constructor(readonly pool: ConnectionPool) {}

  /**
   * Stops taking new work and ends what is left after the drain time. Resolves once the pool is cut, so what is
   * still open (a WebSocket lives outside the pool) counts as draining until then.
   */
  drain(drainMs: number, jitterMs: number, random: () => number = Math.random): Promise<void> {
    if (this.closing !== null && !this.kept) return this.closing;
    if (this.closing !== null) {
      // Kept when its environment became live again, now drained once more: arm the timers afresh.
      this.kept = false;
      this.arm(drainMs, jitterMs, random);
      return this.closing;
    }
    this.closing = new Promise((resolve) => (this.finish = resolve));
    const closed = () => {
      this.poolClosed = true;
      // Nothing left outside the pool either (no WebSocket): the drain is over early.
      if (this.kept || this.active.size === 0) this.end();
    };
    this.pool.close().then(closed, closed);
    this.arm(drainMs, jitterMs, random);
    return this.closing;
  }

  private arm(drainMs: number, jitterMs: number, random: () => number): void {
    this.later(drainMs, () => {
      for (const item of this.active.items()) this.later(random() * jitterMs, () => item.endGracefully());
      this.later(jitterMs + CUT_AFTER_MS, () => void this.pool.destroy(new Error('drain time is over')).finally(() => this.end()));
    });
  }

  /** The environment is live again before the drain ended: what is open may stay; the pool closes when idle. */
  keep(): void {
    this.clearTimers();
    this.kept = true;
    if (this.poolClosed) this.finish();
  }

  private end(): void {
    this.clearTimers();
    this.finish();
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  /** Not unref'd: a drain is work in progress, and a shutdown waits for it. */
  private later(ms: number, run: () => void): void {
    this.timers.push(setTimeout(run, ms));
  }
}

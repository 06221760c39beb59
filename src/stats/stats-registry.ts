// One EnvStats per app and environment, shared by the data path (which records) and the control plane (which
// reads them for analysis, status and metrics).

import type { Color } from '../core/types.ts';
import { EnvStats, type EnvStatsOptions, type StatsSnapshot } from './env-stats.ts';

/** One environment's figures, for status and metrics. */
export interface EnvSnapshot extends StatsSnapshot {
  readonly app: string;
  readonly color: Color;
}

/** What status and metrics show when they ask for no particular window. */
export const STATUS_WINDOW_MS = 60_000;

export class StatsRegistry {
  private readonly envs = new Map<string, { app: string; color: Color; stats: EnvStats }>();

  /** Options for every EnvStats created: the window kept and the clock. */
  constructor(private readonly options: EnvStatsOptions = {}) {}

  /**
   * The stats of one environment, created on first use and the same object ever after: the data path caches it
   * on its compiled route and records into it without a lookup.
   */
  forEnv(app: string, color: Color): EnvStats {
    const key = envKey(app, color);
    let entry = this.envs.get(key);
    if (entry === undefined) this.envs.set(key, (entry = { app, color, stats: new EnvStats(this.options) }));
    return entry.stats;
  }

  /** The stats of one environment if anything asked for them yet; unlike `forEnv`, never creates them. */
  peek(app: string, color: Color): EnvStats | undefined {
    return this.envs.get(envKey(app, color))?.stats;
  }

  /** Every environment's stats object, in no particular order. */
  entries(): { app: string; color: Color; stats: EnvStats }[] {
    return [...this.envs.values()];
  }

  /** Forgets an environment's figures when a new version is deployed to it; the object stays the same. */
  reset(app: string, color: Color): void {
    this.envs.get(envKey(app, color))?.stats.clear();
  }

  /** Drops the stats of an app that left the config. */
  removeApp(app: string): void {
    for (const [key, entry] of this.envs) if (entry.app === app) this.envs.delete(key);
  }

  /** Every environment's figures over the last `windowMs`, by app then color. */
  snapshotAll(windowMs: number = STATUS_WINDOW_MS, now?: number): EnvSnapshot[] {
    return [...this.envs.values()]
      .sort((a, b) => compare(a.app, b.app) || compare(a.color, b.color))
      .map(({ app, color, stats }) => ({ app, color, ...stats.snapshot(windowMs, now) }));
  }
}

function envKey(app: string, color: Color): string {
  return `${app}/${color}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { Agent } from 'undici';
import type { HealthConfig } from '../config/config.ts';
import type { Color } from '../core/types.ts';
import type { HealthView } from '../health/health-view.ts';
import { HealthProbe } from '../health/health-probe.ts';
import { Target, targetKey, type TargetListener, type TargetStatus } from './target.ts';

export interface TargetSpec {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly live: boolean;
}

/** What the config gives each target of an app. */
export interface TargetSettings {
  readonly health: HealthConfig;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** Connections kept open to the target at most; requests beyond wait in the pool's first-come queue. */
  readonly connections: number;
}

export interface TargetRegistryOptions {
  readonly listener: TargetListener;
  readonly clock: () => number;
  /** Read at each sync, so a config reload changes the checks of targets created after it. */
  readonly settings: (app: string) => TargetSettings | null;
  /** False in a data-path worker: the primary probes, and sends each verdict. Default true. */
  readonly probes?: boolean;
}

/**
 * Every target of every routable environment, each with its health probe. `sync` is given the full set that
 * should exist: it creates what is new and closes what went away, after that target's drain time.
 */
export class TargetRegistry implements HealthView {
  private readonly entries = new Map<string, Entry>();
  /** Targets that left, still draining, by app. */
  private readonly leaving = new Map<string, Set<Promise<void>>>();
  private readonly probeAgent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });

  constructor(private readonly options: TargetRegistryOptions) {}

  get(app: string, color: Color, url: string): Target | undefined {
    return this.entries.get(targetKey(app, color, url))?.target;
  }

  /** Makes the registry hold exactly `specs`; targets dropped are closed after `drainMs(app)`. */
  sync(specs: readonly TargetSpec[], drainMs: (app: string) => number, jitterMs: (app: string) => number = () => 0): void {
    const wanted = new Set<string>();
    for (const spec of specs) {
      const key = targetKey(spec.app, spec.color, spec.url);
      wanted.add(key);
      if (!this.entries.has(key)) this.add(key, spec);
    }
    for (const [key, entry] of this.entries) {
      if (wanted.has(key)) continue;
      this.entries.delete(key);
      entry.probe?.stop();
      const app = entry.target.app;
      this.closing(app, entry.target.close(drainMs(app), jitterMs(app)));
    }
  }

  /** Resolves once the targets of `app` that left the registry have drained (each within its drain time). */
  async drained(app: string): Promise<void> {
    await Promise.all([...(this.leaving.get(app) ?? [])]);
  }

  private closing(app: string, closed: Promise<void>): void {
    let set = this.leaving.get(app);
    if (set === undefined) this.leaving.set(app, (set = new Set()));
    const done = closed.catch(() => {}).finally(() => {
      set.delete(done);
      if (set.size === 0 && this.leaving.get(app) === set) this.leaving.delete(app);
    });
    set.add(done);
  }

  isHealthy(app: string, color: Color, url: string): boolean {
    return this.get(app, color, url)?.healthy ?? false;
  }

  lastError(app: string, color: Color, url: string): string | null {
    return this.get(app, color, url)?.status().lastError ?? null;
  }

  /** Applies changed health settings (after a config reload) to the targets that already exist. */
  reconfigure(): void {
    for (const entry of this.entries.values()) {
      const settings = this.options.settings(entry.target.app);
      // An app the config no longer has: its targets go with the next route table.
      if (settings === null) continue;
      const { health } = settings;
      if (JSON.stringify(health) === JSON.stringify(entry.health)) continue;
      entry.probe?.stop();
      entry.target.setThresholds(health);
      entry.health = health;
      entry.probe = this.probe(entry.target, health);
    }
  }

  /** Every target, for a data-path worker's reports and the primary's health verdicts. */
  all(): Target[] {
    return [...this.entries.values()].map((e) => e.target);
  }

  statuses(app: string, color: Color, urls: readonly string[]): TargetStatus[] {
    return urls.map((url) => this.get(app, color, url)?.status() ?? unknownStatus(url));
  }

  /** Stops every probe and closes every pool, giving in-flight requests up to `drainMs`. */
  async close(drainMs: number): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const e of entries) e.probe?.stop();
    await Promise.all(entries.map((e) => e.target.close(drainMs)));
    await this.probeAgent.close();
  }

  private add(key: string, spec: TargetSpec): void {
    const s = this.options.settings(spec.app);
    // A route table older than the config (a worker gets both, in turn): the app is going, and gets no target.
    if (s === null) return;
    const target = new Target({
      ...spec,
      health: s.health,
      // A target restored as live is trusted until its probes say otherwise; a new one must earn its place.
      initiallyHealthy: spec.live,
      connectTimeoutMs: s.connectTimeoutMs,
      responseTimeoutMs: s.responseTimeoutMs,
      connections: s.connections,
      listener: this.options.listener,
      clock: this.options.clock,
    });
    this.entries.set(key, { target, probe: this.probe(target, s.health), health: s.health });
  }

  private probe(target: Target, health: HealthConfig): HealthProbe | null {
    if (this.options.probes === false) return null;
    const probe = new HealthProbe({ url: target.url, config: health, listener: target, dispatcher: this.probeAgent });
    probe.start();
    return probe;
  }
}

interface Entry {
  readonly target: Target;
  probe: HealthProbe | null;
  health: HealthConfig;
}

function unknownStatus(url: string): TargetStatus {
  return { url, healthy: false, inflight: 0, requests: 0, websockets: 0, draining: 0, failures: 0, lastError: 'not checked', checkedAt: null };
}

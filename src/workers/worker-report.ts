import type { DataPath } from '../proxy/data-path.ts';
import type { TargetRegistry } from '../pool/target-registry.ts';
import type { StatsRegistry } from '../stats/stats-registry.ts';
import type { UpstreamErrorTally } from '../stats/upstream-errors.ts';
import type { TargetLoad, WorkerReport } from './messages.ts';

export interface ReportSources {
  readonly stats: StatsRegistry;
  readonly registry: TargetRegistry;
  readonly dataPath: DataPath;
  readonly upstreamErrors: UpstreamErrorTally;
}

/**
 * A data-path worker's side of the merged figures: what its requests added since the last report (stats, upstream
 * errors, requests per target) and its gauges now (in flight, WebSockets, draining, held by a pause).
 */
export class ReportCollector {
  /** Requests per target key at the last report, to send only what came since. */
  private readonly requestsSeen = new Map<string, number>();

  constructor(private readonly sources: ReportSources) {}

  take(): WorkerReport {
    const { stats, dataPath, upstreamErrors } = this.sources;
    const traffic = [];
    for (const { app, color, stats: env } of stats.entries()) {
      const delta = env.takeDelta();
      if (delta !== null) traffic.push({ app, color, delta });
    }
    const apps = new Set(this.sources.registry.all().map((t) => t.app));
    const held = [...apps].map((app) => [app, dataPath.held(app)] as const).filter(([, n]) => n > 0);
    return { kind: 'report', traffic, upstreamErrors: upstreamErrors.take(), targets: this.targets(), held };
  }

  private targets(): TargetLoad[] {
    const seen = new Set<string>();
    const loads = this.sources.registry.all().map((target) => {
      seen.add(target.key);
      const requests = target.requests - (this.requestsSeen.get(target.key) ?? 0);
      this.requestsSeen.set(target.key, target.requests);
      const { app, color, url, inflight, websockets } = target;
      return { app, color, url, inflight, websockets, draining: target.drainingCount, requests };
    });
    for (const key of this.requestsSeen.keys()) if (!seen.has(key)) this.requestsSeen.delete(key);
    return loads;
  }
}

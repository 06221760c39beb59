// Counts of control-plane events for /metrics: switches, rollbacks by reason, deployments by outcome, and how long
// each deployment phase took. Fed from the event hub, so the deploy code makes no metrics calls of its own.

import type { CutoverEvent } from '../core/events.ts';
import { ANALYSIS_FAILED } from '../core/types.ts';

export const ROLLBACK_REASONS = ['manual', 'analysis'] as const;
export type RollbackReason = (typeof ROLLBACK_REASONS)[number];
export const DEPLOYMENT_OUTCOMES = ['done', 'failed', 'rolled-back'] as const;
/** Upper bounds of the phase-duration buckets: a health gate takes seconds, a bake minutes, a manual switch hours. */
export const PHASE_BUCKET_SECONDS: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export interface LabelCount {
  readonly app: string;
  /** The second label's value: a rollback reason or a deployment outcome. */
  readonly label: string;
  readonly count: number;
}

export interface PhaseDurations {
  readonly app: string;
  readonly phase: string;
  /** Counts per PHASE_BUCKET_SECONDS, not cumulative, then the overflow. */
  readonly buckets: readonly number[];
  readonly sumSeconds: number;
  readonly count: number;
}

/** Deployments followed for their phase durations at once; more than this means deployments never ended. */
const MAX_OPEN_DEPLOYMENTS = 256;
const TERMINAL = new Set<string>(DEPLOYMENT_OUTCOMES);

export class ControlEventCounts {
  private readonly switches = new Map<string, number>();
  private readonly rollbacks = new Tally();
  private readonly outcomes = new Tally();
  private readonly phases = new Map<string, { app: string; phase: string; buckets: number[]; sum: number; count: number }>();
  /** The phase each running deployment is in, and since when. */
  private readonly open = new Map<string, { phase: string; at: number }>();

  /** Counts one event from the hub; events of other types are ignored. */
  observe(event: CutoverEvent): void {
    const app = event.app;
    if (typeof app !== 'string') return;
    if (event.type === 'switch') this.switches.set(app, (this.switches.get(app) ?? 0) + 1);
    else if (event.type === 'rollback') this.rollbacks.add(app, rollbackReason(event));
    else if (event.type === 'deployment') this.onDeployment(app, event);
  }

  switchCounts(): { app: string; count: number }[] {
    return [...this.switches].sort(([a], [b]) => compare(a, b)).map(([app, count]) => ({ app, count }));
  }

  rollbackCounts(): LabelCount[] {
    return this.rollbacks.list();
  }

  deploymentCounts(): LabelCount[] {
    return this.outcomes.list();
  }

  phaseDurations(): PhaseDurations[] {
    return [...this.phases.values()]
      .sort((a, b) => compare(a.app, b.app) || compare(a.phase, b.phase))
      .map(({ app, phase, buckets, sum, count }) => ({ app, phase, buckets: [...buckets], sumSeconds: sum, count }));
  }

  private onDeployment(app: string, event: CutoverEvent): void {
    const { deployment: id, phase } = event;
    if (typeof id !== 'string' || typeof phase !== 'string') return;
    const previous = this.open.get(id);
    if (previous !== undefined && previous.phase !== phase) this.observePhase(app, previous.phase, (event.at - previous.at) / 1000);
    if (TERMINAL.has(phase)) {
      this.open.delete(id);
      this.outcomes.add(app, phase);
      return;
    }
    if (previous === undefined || previous.phase !== phase) this.open.set(id, { phase, at: event.at });
    if (this.open.size > MAX_OPEN_DEPLOYMENTS) this.open.delete(this.open.keys().next().value!);
  }

  private observePhase(app: string, phase: string, seconds: number): void {
    const key = `${app}\0${phase}`;
    let entry = this.phases.get(key);
    if (entry === undefined) {
      entry = { app, phase, buckets: new Array<number>(PHASE_BUCKET_SECONDS.length + 1).fill(0), sum: 0, count: 0 };
      this.phases.set(key, entry);
    }
    const s = Math.max(0, seconds);
    const bucket = PHASE_BUCKET_SECONDS.findIndex((le) => s <= le);
    entry.buckets[bucket === -1 ? PHASE_BUCKET_SECONDS.length : bucket]!++;
    entry.sum += s;
    entry.count++;
  }
}

/** Counts by app and one more label. */
class Tally {
  private readonly counts = new Map<string, LabelCount>();

  add(app: string, label: string): void {
    const key = `${app}\0${label}`;
    this.counts.set(key, { app, label, count: (this.counts.get(key)?.count ?? 0) + 1 });
  }

  list(): LabelCount[] {
    return [...this.counts.values()].sort((a, b) => compare(a.app, b.app) || compare(a.label, b.label));
  }
}

/**
 * One run by a deployment carries its `reason`, in the deployment machine's wording (ANALYSIS_FAILED, or "rolled
 * back by ..."); every other rollback was asked for by someone.
 */
function rollbackReason(event: CutoverEvent): RollbackReason {
  return typeof event.reason === 'string' && event.reason.startsWith(ANALYSIS_FAILED) ? 'analysis' : 'manual';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

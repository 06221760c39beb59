// Post-switch analysis: `judge` is the pure verdict over the new environment's figures (and the old one's from
// before the switch); `AnalysisWatch` applies it every second over the bake window.

import type { AnalysisConfig } from '../config/config.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { StatsSnapshot } from '../stats/env-stats.ts';

export type Verdict = 'pass' | 'fail' | 'wait';

export interface AnalysisInput {
  readonly config: AnalysisConfig;
  /** The new environment since the switch. */
  readonly current: StatsSnapshot;
  /** The old environment just before the switch; null when there was none. */
  readonly baseline: StatsSnapshot | null;
  /**
   * The figures latency is judged on: the new environment after its warm-up. Null: too early to judge latency
   * (error rates are judged from the first request). Absent: `current`.
   */
  readonly latency?: StatsSnapshot | null;
}

/** The current figures, plus the baseline's when it took part in the verdict (else null). */
export interface AnalysisFigures extends StatsSnapshot {
  readonly baselineRequests: number | null;
  readonly baselineErrorRate: number | null;
  readonly baselineP99Ms: number | null;
}

export interface Judgement {
  readonly verdict: Verdict;
  /** A sentence with the figures, for a failure or a wait; null on a pass. */
  readonly reason: string | null;
  readonly figures: AnalysisFigures;
}

/** Where the watch reports its end: at the first failing check, or when the bake is over. */
export interface AnalysisListener {
  onFail(judgement: Judgement): void;
  /** Verdict 'pass', or 'wait' when fewer than minRequests arrived during the bake (not judged). */
  onDone(judgement: Judgement): void;
}

/** What the watch reads; EnvStats is one, a merge of several workers' stats another. */
export interface StatsSource {
  window(fromMs: number, toMs: number): StatsSnapshot;
}

export interface AnalysisWatchOptions {
  readonly source: StatsSource;
  readonly config: AnalysisConfig;
  readonly baseline: StatsSnapshot | null;
  /** When the switch happened: every check covers from here until now. */
  readonly switchedAt: number;
  readonly listener: AnalysisListener;
  readonly clock?: Clock;
  readonly intervalMs?: number;
}

/**
 * "Clearly worse than before" takes both a ratio and an absolute margin: a ratio alone calls 0.2% errors against
 * 0.1%, or a p99 of 9 ms against 4 ms, a regression; an absolute margin alone ignores 30% errors against 20%.
 */
export const BASELINE_ERROR_RATE_FACTOR = 2;
/** One percentage point: against a near-zero baseline, any ratio is met by a single error. */
export const BASELINE_ERROR_RATE_SLACK = 0.01;
/**
 * The error-rate comparison also needs this many 5xx more than the baseline rate predicts at the same traffic.
 * At minRequests=100 against a 0.5% baseline, two errors would already exceed the rate margin, and happen by
 * chance about one time in eleven; six happen by chance about once in 70,000 (Poisson, mean 0.5). The watch
 * checks every second, so a check that passes by chance this easily would roll back good versions.
 */
export const BASELINE_MIN_EXCESS_ERRORS = 5;
export const BASELINE_P99_FACTOR = 2;
/** 50 ms: fast services' p99 doubles on a single GC pause or a cold connection; users do not notice that. */
export const BASELINE_P99_SLACK_MS = 50;
/** The old environment's figures are taken over this much time before the switch. */
export const BASELINE_WINDOW_MS = 60_000;
export const ANALYSIS_INTERVAL_MS = 1_000;
/**
 * Latency is not judged over a new environment's first seconds: a healthy version was seen rolled back for a p99
 * of 94 ms against 39 ms, all of it from the first second (new connections, cold processes).
 */
export const LATENCY_WARMUP_MS = 3_000;
/** The shortest window after the warm-up that latency is judged on. */
export const LATENCY_MIN_WINDOW_MS = 2_000;

/** Pure: the verdict on the new environment's figures. */
export function judge(input: AnalysisInput): Judgement {
  const { config, current } = input;
  const baseline = usableBaseline(input);
  const figures = figuresOf(current, baseline);
  if (current.requests < config.minRequests) {
    const reason = `waiting for ${config.minRequests} requests, ${current.requests} so far`;
    return { verdict: 'wait', reason, figures };
  }
  const latency = input.latency === undefined ? current : input.latency;
  const reason =
    limitBreach(config, current, latency) ?? (baseline === null ? null : baselineBreach(current, latency, baseline));
  return { verdict: reason === null ? 'pass' : 'fail', reason, figures };
}

/** The old environment's figures over the last BASELINE_WINDOW_MS; take it just before the switch. */
export function takeBaseline(source: StatsSource, now: number, windowMs: number = BASELINE_WINDOW_MS): StatsSnapshot {
  return source.window(now - windowMs, now);
}

/** Figures as a deployment's `metrics`: the numbers that are known. */
export function metricsOf(figures: AnalysisFigures): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(figures)) if (typeof value === 'number') metrics[name] = value;
  return metrics;
}

/**
 * Applies `judge` every `intervalMs` to the new environment's figures since the switch: reports the first failing
 * check, or the last check once `bakeMs` has passed. Each check covers the switch until now; once the bake outlasts
 * the stats' window (120 s by default), a check covers that window only, so a late regression is not diluted by
 * minutes of good traffic.
 */
export class AnalysisWatch {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private settled: Judgement | null = null;

  constructor(private readonly options: AnalysisWatchOptions) {
    this.clock = options.clock ?? systemClock;
    this.intervalMs = options.intervalMs ?? ANALYSIS_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be above 0 (got ${this.intervalMs})`);
  }

  /** The final judgement once the watch has reported; null while it runs. */
  get result(): Judgement | null {
    return this.settled;
  }

  start(): void {
    if (this.timer !== null || this.settled !== null) return;
    // Not unref'd: a bake in progress is work, and whoever awaits its end relies on the timer; stop() ends it.
    this.timer = setInterval(() => this.check(), this.intervalMs);
  }

  /** One check now; reports and stops if it settles the bake. Later calls return the final judgement. */
  check(): Judgement {
    if (this.settled !== null) return this.settled;
    const { source, config, baseline, switchedAt, listener } = this.options;
    const now = this.clock.now();
    // A new environment's first seconds pay for fresh connections and cold code: latency is judged after them.
    const warm = switchedAt + LATENCY_WARMUP_MS;
    const latency = now - warm >= LATENCY_MIN_WINDOW_MS ? source.window(warm, now) : null;
    const judgement = judge({ config, current: source.window(switchedAt, now), baseline, latency });
    if (judgement.verdict === 'fail') this.settle(judgement, () => listener.onFail(judgement));
    else if (now - switchedAt >= config.bakeMs) this.settle(judgement, () => listener.onDone(judgement));
    return judgement;
  }

  /** Stops checking without reporting (a rollback or a new deployment took over). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private settle(judgement: Judgement, report: () => void): void {
    this.settled = judgement;
    this.stop();
    report();
  }
}

/** The baseline takes part only when asked for and when it saw as much traffic as the current figures must. */
function usableBaseline({ config, baseline }: AnalysisInput): StatsSnapshot | null {
  if (!config.compareToBaseline || baseline === null) return null;
  return baseline.requests >= Math.max(1, config.minRequests) ? baseline : null;
}

function figuresOf(current: StatsSnapshot, baseline: StatsSnapshot | null): AnalysisFigures {
  return {
    ...current,
    baselineRequests: baseline?.requests ?? null,
    baselineErrorRate: baseline?.errorRate ?? null,
    baselineP99Ms: baseline?.p99Ms ?? null,
  };
}

function limitBreach(config: AnalysisConfig, current: StatsSnapshot, latency: StatsSnapshot | null): string | null {
  const over = `over ${current.requests} requests`;
  if (config.maxErrorRate !== null && current.errorRate > config.maxErrorRate) {
    return `error rate ${percent(current.errorRate)} ${over} exceeds maxErrorRate ${percent(config.maxErrorRate)}`;
  }
  if (config.maxP99Ms !== null && latency !== null && latency.p99Ms !== null && latency.p99Ms > config.maxP99Ms) {
    return `p99 ${ms(latency.p99Ms)} over ${latency.requests} requests exceeds maxP99 ${ms(config.maxP99Ms)}`;
  }
  return null;
}

function baselineBreach(current: StatsSnapshot, latency: StatsSnapshot | null, baseline: StatsSnapshot): string | null {
  const base = baseline.errorRate;
  const rateLimit = Math.max(base * BASELINE_ERROR_RATE_FACTOR, base + BASELINE_ERROR_RATE_SLACK);
  const excess = current.errors5xx - base * current.requests;
  if (current.errorRate > rateLimit && excess >= BASELINE_MIN_EXCESS_ERRORS) {
    return worse(current, 'error rate', percent(current.errorRate), percent(base), percent(rateLimit));
  }
  if (latency === null || latency.p99Ms === null || baseline.p99Ms === null) return null;
  const p99Limit = Math.max(baseline.p99Ms * BASELINE_P99_FACTOR, baseline.p99Ms + BASELINE_P99_SLACK_MS);
  if (latency.p99Ms <= p99Limit) return null;
  return worse(latency, 'p99', ms(latency.p99Ms), ms(baseline.p99Ms), ms(p99Limit));
}

function worse(current: StatsSnapshot, what: string, now: string, before: string, limit: string): string {
  return `${what} ${now} over ${current.requests} requests is clearly worse than the old environment's ${before} ` +
    `before the switch (limit ${limit})`;
}

/** 0.482 → "48.2%", 0.01 → "1%", 0.0015 → "0.15%". */
function percent(rate: number): string {
  const p = rate * 100;
  return `${Number(p.toFixed(p < 1 ? 2 : 1))}%`;
}

/** 1203.4 → "1203 ms", 4.26 → "4.3 ms". */
function ms(value: number): string {
  return `${Number(value.toFixed(value < 10 ? 1 : 0))} ms`;
}

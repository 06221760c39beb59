// `GET /metrics`: Prometheus text from a registry of cutover's own. Nothing here runs per request: every value is
// read at scrape time from what cutover keeps anyway (the app records, the targets, the stats' monotonic totals,
// the upstream error counter), and the control-plane counters are fed by the event hub.
// Labels are bounded: app and env names, versions and target URLs all come from the config or a deploy.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CutoverEvent } from '../core/events.ts';
import { COLORS, type AppRecord, type Color } from '../core/types.ts';
import type { TargetStatus } from '../pool/target.ts';
import {
  ControlEventCounts,
  DEPLOYMENT_OUTCOMES,
  PHASE_BUCKET_SECONDS,
  ROLLBACK_REASONS,
} from '../stats/control-event-counts.ts';
import type { EnvStats, EnvTotals } from '../stats/env-stats.ts';
import { cumulativeBuckets, LATENCY_BUCKET_SECONDS } from '../stats/latency-buckets.ts';
import { STATUS_CLASSES } from '../stats/status-class.ts';
import { UPSTREAM_ERROR_KINDS, UpstreamErrorCounter } from '../stats/upstream-errors.ts';
import type { TargetStatusSource } from './app-status.ts';
import { SnapshotHistogram, type HistogramSeries } from './snapshot-histogram.ts';

/** What metrics reads of an app: AppController is one. */
export interface MetricsApp {
  readonly name: string;
  readonly state: AppRecord;
  readonly pausedUntil: number | null;
}

export interface MetricsOptions {
  readonly controller: { list(): readonly MetricsApp[] };
  readonly targets: TargetStatusSource;
  /** StatsRegistry: `peek`, so a scrape creates no stats for an environment that never had traffic. */
  readonly stats: { peek(app: string, color: Color): EnvStats | undefined };
  readonly events: { subscribe(listener: (event: CutoverEvent) => void): () => void; since(id: number): CutoverEvent[] };
  /** The counter the proxy bumps; one is made when not given. */
  readonly upstreamErrors?: UpstreamErrorCounter;
  /** Requests and connections still open on an environment's draining pools; the metric is left out without it. */
  readonly draining?: (app: string, color: Color) => number;
  /** Node's process metrics (CPU, memory, event-loop lag, GC), prefixed `cutover_`. Default true. */
  readonly processMetrics?: boolean;
}

export interface Metrics {
  readonly contentType: string;
  /** The Prometheus text exposition, read now. */
  text(): Promise<string>;
  readonly upstreamErrors: UpstreamErrorCounter;
  /** Stops listening to the event hub. */
  close(): void;
}

/** Statuses always exposed for a deployed environment, so that a first 5xx is a rise from 0, not a new series. */
const ALWAYS_SHOWN_CLASSES = new Set(['2xx', '3xx', '4xx', '5xx', 'client_closed']);

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const upstreamErrors = options.upstreamErrors ?? new UpstreamErrorCounter();
  const control = new ControlEventCounts();
  // Events emitted before metrics existed (recovery at start) are still in the hub's ring: count them first.
  for (const event of options.events.since(0)) control.observe(event);
  const unsubscribe = options.events.subscribe((event) => control.observe(event));
  let view: ScrapeView = { apps: [] };
  const read = () => view;

  registerTraffic(registry, read);
  registerTargets(registry, read);
  registerControl(registry, read, control, upstreamErrors, options.draining !== undefined);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'cutover_' });
  return {
    contentType: registry.contentType,
    upstreamErrors,
    async text() {
      // Every collector of one scrape reads the same view, built once: each target's status is read once.
      view = scrapeView(options);
      return registry.metrics();
    },
    close: unsubscribe,
  };
}

/** One scrape's reading of cutover's state. */
interface ScrapeView {
  readonly apps: readonly AppView[];
}

interface AppView {
  readonly name: string;
  readonly live: Color | null;
  readonly paused: boolean;
  readonly envs: readonly EnvView[];
}

interface EnvView {
  readonly color: Color;
  readonly version: string | null;
  readonly targets: readonly TargetStatus[];
  readonly totals: EnvTotals | null;
  readonly draining: number;
}

function scrapeView(options: MetricsOptions): ScrapeView {
  const apps = options.controller.list().map((app): AppView => {
    const record = app.state;
    const envs = COLORS.map((color): EnvView => ({
      color,
      version: record.envs[color].version,
      targets: options.targets.statuses(record.name, color, record.envs[color].targets),
      totals: options.stats.peek(record.name, color)?.totals() ?? null,
      draining: options.draining?.(record.name, color) ?? 0,
    }));
    return { name: record.name, live: record.live, paused: app.pausedUntil !== null, envs };
  });
  return { apps: [...apps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

type ViewReader = () => ScrapeView;

function registerTraffic(registry: Registry, view: ViewReader): void {
  new Counter({
    name: 'cutover_requests_total',
    help: 'Public requests answered, by the version deployed on the environment and status class (client_closed: the client left before the response head). Starts from 0 for each new version.',
    labelNames: ['app', 'env', 'version', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { app, env } of eachEnv(view())) {
        if (env.totals === null) continue;
        const version = env.version ?? '';
        env.totals.requests.forEach((count, i) => {
          const cls = STATUS_CLASSES[i]!;
          if (count > 0 || (env.version !== null && ALWAYS_SHOWN_CLASSES.has(cls))) {
            this.inc({ app: app.name, env: env.color, version, class: cls }, count);
          }
        });
      }
    },
  });
  new SnapshotHistogram({
    name: 'cutover_request_duration_seconds',
    help: 'Time from receiving a public request to the response head (what analysis judges), by environment, across versions.',
    buckets: LATENCY_BUCKET_SECONDS,
    registry,
    *collect(): Iterable<HistogramSeries> {
      for (const { app, env } of eachEnv(view())) {
        if (env.totals === null) continue;
        const labels = { app: app.name, env: env.color };
        yield { labels, cumulative: cumulativeBuckets(env.totals.latencyBins), sum: env.totals.latencySumMs / 1000 };
      }
    },
  });
  envGauge(registry, view, 'cutover_inflight_requests', 'Requests in flight to the environment\'s targets.', (env) =>
    env.targets.reduce((sum, t) => sum + t.inflight, 0));
}

function registerTargets(registry: Registry, view: ViewReader): void {
  const perTarget = (name: string, help: string, value: (t: TargetStatus) => number, type: 'gauge' | 'counter') => {
    const Kind = type === 'gauge' ? Gauge : Counter;
    new Kind({
      name,
      help,
      labelNames: ['app', 'env', 'target'],
      registers: [registry],
      collect(this: Gauge | Counter) {
        this.reset();
        for (const { app, env } of eachEnv(view())) {
          for (const t of env.targets) {
            const labels = { app: app.name, env: env.color, target: t.url };
            if (this instanceof Gauge) this.set(labels, value(t));
            else this.inc(labels, value(t));
          }
        }
      },
    });
  };
  perTarget('cutover_target_healthy', '1 while the target passes its health checks.', (t) => (t.healthy ? 1 : 0), 'gauge');
  perTarget('cutover_target_inflight', 'Requests in flight to the target.', (t) => t.inflight, 'gauge');
  perTarget('cutover_target_requests_total', 'Requests sent to the target, retries and preview traffic included.', (t) => t.requests, 'counter');
}

function registerControl(registry: Registry, view: ViewReader, control: ControlEventCounts, errors: UpstreamErrorCounter, draining: boolean): void {
  envGauge(registry, view, 'cutover_app_live', '1 for the environment that takes the app\'s traffic.', (env, app) => (app.live === env.color ? 1 : 0));
  appGauge(registry, view, 'cutover_paused', '1 while the app holds new requests (cutover pause).', (app) => (app.paused ? 1 : 0));
  if (draining) {
    envGauge(registry, view, 'cutover_draining_connections', 'Requests and connections still open on the environment\'s draining pools.', (env) => env.draining);
  }
  new Counter({
    name: 'cutover_upstream_errors_total',
    help: 'Failed attempts to reach a target (a retried one counts too), by kind.',
    labelNames: ['app', 'env', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map(errors.counts().map((c) => [`${c.app}\0${c.color}\0${c.kind}`, c.count]));
      for (const { app, env } of eachEnv(view())) {
        for (const kind of UPSTREAM_ERROR_KINDS) {
          this.inc({ app: app.name, env: env.color, kind }, counts.get(`${app.name}\0${env.color}\0${kind}`) ?? 0);
        }
      }
    },
  });
  appCounter(registry, view, 'cutover_switches_total', 'Switches to a new environment (rollbacks not included).', null, [''], (app) => control.switchCounts().find((c) => c.app === app)?.count ?? 0);
  appCounter(registry, view, 'cutover_rollbacks_total', 'Rollbacks, by who asked: manual (an operator) or analysis (the bake failed).', 'reason', ROLLBACK_REASONS, labelled(() => control.rollbackCounts()));
  appCounter(registry, view, 'cutover_deployments_total', 'Deployments reaching each outcome; one done and rolled back later counts under both.', 'outcome', DEPLOYMENT_OUTCOMES, labelled(() => control.deploymentCounts()));
  new SnapshotHistogram({
    name: 'cutover_deployment_phase_seconds',
    help: 'Time deployments spent in each phase, measured from the event stream.',
    buckets: PHASE_BUCKET_SECONDS,
    registry,
    *collect() {
      const apps = new Set(view().apps.map((a) => a.name));
      for (const p of control.phaseDurations()) {
        if (!apps.has(p.app)) continue; // an app that left the config
        let seen = 0;
        const cumulative = p.buckets.map((n) => (seen += n));
        yield { labels: { app: p.app, phase: p.phase }, cumulative, sum: p.sumSeconds };
      }
    },
  });
}

function envGauge(registry: Registry, view: ViewReader, name: string, help: string, value: (env: EnvView, app: AppView) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['app', 'env'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { app, env } of eachEnv(view())) this.set({ app: app.name, env: env.color }, value(env, app));
    },
  });
}

function appGauge(registry: Registry, view: ViewReader, name: string, help: string, value: (app: AppView) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['app'],
    registers: [registry],
    collect() {
      this.reset();
      for (const app of view().apps) this.set({ app: app.name }, value(app));
    },
  });
}

/**
 * A counter per app, and per value of a second label when `label` is given, shown from 0 for every app in the
 * config so that `increase()` sees the first one.
 */
function appCounter(
  registry: Registry,
  view: ViewReader,
  name: string,
  help: string,
  label: string | null,
  values: readonly string[],
  count: (app: string, value: string) => number,
): void {
  new Counter({
    name,
    help,
    labelNames: label === null ? ['app'] : ['app', label],
    registers: [registry],
    collect() {
      this.reset();
      for (const app of view().apps) {
        for (const value of values) {
          this.inc(label === null ? { app: app.name } : { app: app.name, [label]: value }, count(app.name, value));
        }
      }
    },
  });
}

function labelled(list: () => { app: string; label: string; count: number }[]): (app: string, value: string) => number {
  return (app, value) => list().find((c) => c.app === app && c.label === value)?.count ?? 0;
}

function* eachEnv(view: ScrapeView): Iterable<{ app: AppView; env: EnvView }> {
  for (const app of view.apps) for (const env of app.envs) yield { app, env };
}

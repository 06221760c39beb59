import { channel } from 'node:diagnostics_channel';
import type { Color } from '../core/types.ts';
import type { AccessLogSink } from '../log/access-log.ts';
import type { TargetRegistry } from '../pool/target-registry.ts';
import type { Target } from '../pool/target.ts';
import type { UpstreamErrorSink } from '../stats/upstream-errors.ts';
import { PauseGate } from './pause-gate.ts';
import { EMPTY_ROUTE_TABLE, type AppRoute, type RouteTable } from './route-table.ts';
import { Router, targetSpecs } from './router.ts';
import type { TrafficStats } from './traffic.ts';

/**
 * Publishes `{ generation }` when a route table is applied, for tracing tools (`bench:switch` with
 * BENCH_SWITCH_TRACE=1); nothing is built when nobody subscribes.
 */
export const ROUTE_TABLE_CHANNEL = 'cutover:route-table:applied';
const applied = channel(ROUTE_TABLE_CHANNEL);
/** Connections a target opens at most as it becomes live: a burst beyond opens the rest on demand. */
const MAX_WARM = 32;
/** The same for a target of a candidate that has just become ready, ahead of a switch that may not come. */
const MAX_CANDIDATE_WARM = 8;

export interface DataPathOptions {
  readonly registry: TargetRegistry;
  readonly stats: TrafficStats | null;
  readonly upstreamErrors?: UpstreamErrorSink | null;
  readonly accessLog?: AccessLogSink | null;
  /**
   * False in the primary of data-path workers: it routes no request, so it opens no connection to an environment
   * that becomes live (each worker does, as it applies the table). Default true.
   */
  readonly servesTraffic?: boolean;
}

/**
 * What every listener routes by: the compiled route table, swapped in one assignment by `apply`, plus what lives
 * across tables (targets with their pools and probes, pause gates). The public listener and any preview listener
 * share one.
 */
export class DataPath {
  router: Router;
  readonly upstreamErrors: UpstreamErrorSink | null;
  readonly accessLog: AccessLogSink | null;
  private table: RouteTable = EMPTY_ROUTE_TABLE;
  private readonly gates = new Map<string, PauseGate>();
  /** By app: the candidate last warmed for a switch (see warmCandidate). */
  private readonly warmedCandidates = new Map<string, string>();

  constructor(private readonly options: DataPathOptions) {
    this.router = new Router(EMPTY_ROUTE_TABLE, options.registry, this.parts());
    this.upstreamErrors = options.upstreamErrors ?? null;
    this.accessLog = options.accessLog ?? null;
  }

  get generation(): number {
    return this.table.generation;
  }

  /** Makes `table` the one every new request is routed by. */
  apply(table: RouteTable): void {
    const previous = this.table;
    const flips = this.options.servesTraffic === false ? [] : flipsBetween(previous, table);
    // Counted before the environment that stops being live moves its idle connections to a new pool.
    const openBefore = flips.map((flip) => this.openConnections(flip.before));
    // An app that left the table still drains by its own settings, which only the previous table has.
    const route = (app: string) => table.apps.find((a) => a.name === app) ?? previous.apps.find((a) => a.name === app);
    const drainMs = (app: string) => route(app)?.drainMs ?? 0;
    const jitterMs = (app: string) => route(app)?.drainJitterMs ?? 0;
    this.options.registry.sync(targetSpecs(table), drainMs, jitterMs);
    this.router = new Router(table, this.options.registry, this.parts());
    this.table = table;
    if (applied.hasSubscribers) applied.publish({ generation: table.generation });
    this.drainLeftLive(previous, table);
    flips.forEach((flip, i) => this.warm(flip.after, flip.after.live!, openBefore[i]!));
    if (this.options.servesTraffic !== false) for (const app of table.apps) this.warmCandidate(app);
    for (const app of table.apps) this.gate(app.name).set(app.pausedUntil);
    for (const [name, gate] of this.gates) {
      if (table.apps.some((a) => a.name === name)) continue;
      this.gates.delete(name);
      gate.dispose();
    }
    for (const name of this.warmedCandidates.keys()) if (!table.apps.some((a) => a.name === name)) this.warmedCandidates.delete(name);
  }

  /** Connections open to the targets of the live environment of `route` (none when nothing is live). */
  private openConnections(route: AppRoute): number {
    const { name, live } = route;
    if (live === null) return 0;
    let open = 0;
    for (const url of route.envs[live].targets) open += this.options.registry.get(name, live, url)?.connections ?? 0;
    return open;
  }

  /**
   * Traffic of `route`'s app has just moved to its live environment: each healthy target of it opens connections for
   * its share of the `open` the previous live environment had, so the first requests after the flip do not each wait
   * for one to open. Opened as the new table routes, by every data path that applies it (workers, and instances
   * sharing the store, whose flip another made). A candidate had some opened already as it became ready
   * (warmCandidate): these top them up. Also used for that, with `color` the candidate's and a lower `most`.
   * Returns how many healthy targets it warmed.
   */
  private warm(route: AppRoute, color: Color, open: number, most = MAX_WARM): number {
    const targets: Target[] = [];
    for (const url of route.envs[color].targets) {
      const target = this.options.registry.get(route.name, color, url);
      if (target?.healthy === true) targets.push(target);
    }
    const each = Math.min(most, Math.max(1, Math.ceil(open / Math.max(1, targets.length))));
    for (const target of targets) target.warm(each);
    return targets.length;
  }

  /**
   * A candidate that has become `ready` gets connections for the switch that may follow, so that when a deployment
   * switches right after its verification the first requests find them open (measured: a new deployment's switch
   * p50 3.3–4.2 ms against 5.1–6.5 without, `npm run bench:switch -- --deploys 1`). Once per candidate (its version
   * and targets), on the first table that finds it ready with a healthy target, not on every table: spares nobody
   * takes close after SPARE_MS, and a switch made later warms as it flips. At most MAX_CANDIDATE_WARM per healthy target.
   */
  private warmCandidate(route: AppRoute): void {
    if (route.live === null) return;
    const color: Color = route.live === 'blue' ? 'green' : 'blue';
    const env = route.envs[color];
    if (env.state !== 'ready' || env.targets.length === 0) return;
    const key = `${color} ${env.version} ${env.targets.join()}`;
    if (this.warmedCandidates.get(route.name) === key) return;
    if (this.warm(route, color, this.openConnections(route), MAX_CANDIDATE_WARM) > 0) this.warmedCandidates.set(route.name, key);
  }

  /** This cutover is shutting down: paused apps refuse what they hold, and what comes (see PauseGate.close). */
  closeGates(): void {
    for (const gate of this.gates.values()) gate.close(Date.now());
  }

  /** Requests held by paused apps, for status. */
  held(app: string): number {
    return this.gates.get(app)?.waiting ?? 0;
  }

  private gate(app: string): PauseGate {
    let gate = this.gates.get(app);
    if (gate === undefined) this.gates.set(app, (gate = new PauseGate()));
    return gate;
  }

  private parts() {
    return { stats: this.options.stats, gate: (app: string) => this.gate(app) };
  }

  /**
   * The environment that stopped being live finishes its requests on its old pools (new ones get fresh pools); one
   * that became live again keeps what it still had draining.
   */
  private drainLeftLive(previous: RouteTable, next: RouteTable): void {
    for (const before of previous.apps) {
      const after = next.apps.find((a) => a.name === before.name);
      if (before.live === null || after === undefined || after.live === before.live) continue;
      const registry = this.options.registry;
      for (const url of after.envs[before.live].targets) {
        void registry.get(after.name, before.live, url)?.recyclePool(after.drainMs, after.drainJitterMs);
      }
      if (after.live === null) continue;
      for (const url of after.envs[after.live].targets) registry.get(after.name, after.live, url)?.keepDraining();
    }
  }

  /** Requests and WebSockets still open on an environment's draining pools. */
  draining(app: string, color: Color): number {
    const route = this.table.apps.find((a) => a.name === app);
    if (route === undefined) return 0;
    let count = 0;
    for (const url of route.envs[color].targets) count += this.options.registry.get(app, color, url)?.drainingEverywhere ?? 0;
    return count;
  }
}

/** The apps whose live environment changes from `previous` to `next`, as each has them (an app new in `next` is not a flip). */
export function flipsBetween(previous: RouteTable, next: RouteTable): { before: AppRoute; after: AppRoute }[] {
  const flips: { before: AppRoute; after: AppRoute }[] = [];
  for (const after of next.apps) {
    const before = previous.apps.find((a) => a.name === after.name);
    if (before !== undefined && after.live !== null && after.live !== before.live) flips.push({ before, after });
  }
  return flips;
}

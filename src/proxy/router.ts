import type { Color } from '../core/types.ts';
import type { Target } from '../pool/target.ts';
import type { TargetRegistry, TargetSpec } from '../pool/target-registry.ts';
import type { PauseGate } from './pause-gate.ts';
import { previewAccess, type PreviewAccess } from './preview.ts';
import type { AppRoute, RouteTable } from './route-table.ts';
import type { TrafficRecorder, TrafficStats } from './traffic.ts';

/** One environment as the data path sees it: live objects, not URLs. */
export interface RoutedEnv {
  readonly color: Color;
  readonly version: string | null;
  readonly targets: readonly Target[];
  /** Null for environments whose traffic is not counted. */
  readonly recorder: TrafficRecorder | null;
}

export interface RoutedApp {
  readonly name: string;
  readonly live: RoutedEnv | null;
  readonly candidate: RoutedEnv | null;
  readonly preview: PreviewAccess | null;
  /** A request body larger than this gets 413; 0 is no limit. */
  readonly maxBodyBytes: number;
  /** Lives across route tables, so requests held by a pause survive the table that resumes it. */
  readonly gate: PauseGate;
  /** Rotates the balancer's starting point so equal targets share load. */
  cursor: number;
}

/**
 * A route table compiled for lookups on the hot path: Host → app → live environment → targets. Built once per
 * route table and swapped by the proxy in one assignment.
 */
export class Router {
  readonly generation: number;
  private readonly byHost = new Map<string, RoutedApp>();
  private readonly byApp = new Map<string, RoutedApp>();
  private readonly fallback: RoutedApp | null = null;
  /** The last Host looked up and its app: most connections send the same Host again and again. */
  private lastHost: string | null = null;
  private lastApp: RoutedApp | null = null;

  constructor(table: RouteTable, registry: TargetRegistry, parts: RouterParts) {
    this.generation = table.generation;
    for (const route of table.apps) {
      const app = compileApp(route, registry, parts);
      this.byApp.set(route.name, app);
      if (route.hosts.length === 0) this.fallback = app;
      for (const host of route.hosts) this.byHost.set(host, app);
    }
  }

  byName(name: string): RoutedApp | null {
    return this.byApp.get(name) ?? null;
  }

  /** The app for a Host header value (any case, with or without a port); the default app when none matches. */
  match(host: string | undefined): RoutedApp | null {
    if (host === undefined) return this.fallback;
    if (host === this.lastHost) return this.lastApp;
    const app = this.byHost.get(normalizeHost(host)) ?? this.fallback;
    this.lastHost = host;
    this.lastApp = app;
    return app;
  }
}

/** What the data path keeps across route tables and lends to each compiled app. */
export interface RouterParts {
  readonly stats: TrafficStats | null;
  gate(app: string): PauseGate;
}

/** Every target a route table needs, for the registry to create and probe. */
export function targetSpecs(table: RouteTable): TargetSpec[] {
  const specs: TargetSpec[] = [];
  for (const app of table.apps) {
    for (const env of [app.envs.blue, app.envs.green]) {
      for (const url of env.targets) specs.push({ app: app.name, color: env.color, url, live: app.live === env.color });
    }
  }
  return specs;
}

function compileApp(route: AppRoute, registry: TargetRegistry, parts: RouterParts): RoutedApp {
  const env = (color: Color | null, counted: boolean): RoutedEnv | null => {
    if (color === null) return null;
    const r = route.envs[color];
    const targets = r.targets.map((url) => registry.get(route.name, color, url)).filter((t) => t !== undefined);
    const recorder = counted && parts.stats !== null ? parts.stats.forEnv(route.name, color) : null;
    return { color, version: r.version, targets, recorder };
  };
  // Before anything is live, the candidate is whichever environment has targets (the first deployment). One without
  // targets (nothing deployed, retired, failed) is none: preview traffic then gets NO_CANDIDATE, or goes live.
  const otherColor = route.live === null ? (route.envs.blue.targets.length > 0 ? 'blue' : 'green') : route.live === 'blue' ? 'green' : 'blue';
  const candidateColor = route.envs[otherColor].targets.length > 0 ? otherColor : null;
  const preview = route.preview === null ? null : previewAccess(route.name, route.preview.header, route.preview.secret);
  return {
    name: route.name,
    live: env(route.live, true),
    candidate: env(candidateColor, false),
    preview,
    maxBodyBytes: route.maxBodyBytes,
    gate: parts.gate(route.name),
    cursor: 0,
  };
}

function normalizeHost(host: string): string {
  let end = host.length;
  // "[::1]:8080" keeps its brackets; "example.com:8080" loses the port.
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(']') < colon) end = colon;
  return host.slice(0, end).toLowerCase();
}

import type { Color } from '../core/types.ts';
import type { Target } from '../pool/target.ts';
import type { TargetRegistry, TargetSpec } from '../pool/target-registry.ts';
import type { AppRoute, RouteTable } from './route-table.ts';

/** One environment as the data path sees it: live objects, not URLs. */
export interface RoutedEnv {
  readonly color: Color;
  readonly version: string | null;
  readonly targets: readonly Target[];
}

export interface RoutedApp {
  readonly name: string;
  readonly live: RoutedEnv | null;
  readonly candidate: RoutedEnv | null;
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
  private readonly fallback: RoutedApp | null = null;

  constructor(table: RouteTable, registry: TargetRegistry) {
    this.generation = table.generation;
    for (const route of table.apps) {
      const app = compileApp(route, registry);
      if (route.hosts.length === 0) this.fallback = app;
      for (const host of route.hosts) this.byHost.set(host, app);
    }
  }

  /** The app for a Host header value (any case, with or without a port); the default app when none matches. */
  match(host: string | undefined): RoutedApp | null {
    if (host !== undefined) {
      const app = this.byHost.get(normalizeHost(host));
      if (app !== undefined) return app;
    }
    return this.fallback;
  }
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

function compileApp(route: AppRoute, registry: TargetRegistry): RoutedApp {
  const env = (color: Color | null): RoutedEnv | null => {
    if (color === null) return null;
    const r = route.envs[color];
    const targets = r.targets.map((url) => registry.get(route.name, color, url)).filter((t) => t !== undefined);
    return { color, version: r.version, targets };
  };
  const candidateColor = route.live === null ? null : route.live === 'blue' ? 'green' : 'blue';
  return { name: route.name, live: env(route.live), candidate: env(candidateColor), cursor: 0 };
}

function normalizeHost(host: string): string {
  let end = host.length;
  // "[::1]:8080" keeps its brackets; "example.com:8080" loses the port.
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(']') < colon) end = colon;
  return host.slice(0, end).toLowerCase();
}

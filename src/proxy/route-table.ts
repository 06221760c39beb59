import type { AppConfig } from '../config/config.ts';
import type { AppRecord, Color, EnvRecord, EnvState } from '../core/types.ts';

/**
 * What the data path routes by: for each app its hosts, its live environment and its candidate, each with its
 * targets. Immutable and plain data, so it can be swapped in one assignment, sent to a worker process or stored.
 */
export interface RouteTable {
  readonly generation: number;
  readonly apps: readonly AppRoute[];
}

export interface AppRoute {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly live: Color | null;
  readonly drainMs: number;
  readonly drainJitterMs: number;
  /** 0: no limit. */
  readonly maxBodyBytes: number;
  readonly envs: { readonly blue: EnvRoute; readonly green: EnvRoute };
  /** Null when the app has no preview. The secret travels with the table so that any data path can check it. */
  readonly preview: { readonly header: string; readonly secret: string } | null;
  /** While paused, new requests are held until this time (epoch ms) or until the app resumes. */
  readonly pausedUntil: number | null;
}

export interface EnvRoute {
  readonly color: Color;
  readonly version: string | null;
  /** As stored: a data path warms a candidate that has just become `ready` for the switch that may follow. */
  readonly state: EnvState;
  /** Empty when the environment takes no traffic and needs no health checks (empty or failed). */
  readonly targets: readonly string[];
}

export const EMPTY_ROUTE_TABLE: RouteTable = Object.freeze({ generation: 0, apps: Object.freeze([]) });

/** The route table for a set of apps as stored, with the routing parts of their config. */
export function buildRouteTable(
  generation: number,
  apps: readonly AppRecord[],
  configs: Readonly<Record<string, AppConfig>>,
  pausedUntil: (app: string) => number | null = () => null,
): RouteTable {
  const routes = apps
    .filter((app) => configs[app.name] !== undefined)
    .map((app) => appRoute(app, configs[app.name]!, pausedUntil(app.name)));
  return deepFreeze({ generation, apps: routes });
}

function appRoute(app: AppRecord, config: AppConfig, pausedUntil: number | null): AppRoute {
  return {
    name: app.name,
    hosts: [...config.hosts],
    live: app.live,
    drainMs: config.drainMs,
    drainJitterMs: config.drainJitterMs,
    maxBodyBytes: config.maxBodyBytes,
    envs: { blue: envRoute(app.envs.blue), green: envRoute(app.envs.green) },
    preview: config.preview === null ? null : { header: config.preview.header, secret: config.preview.secret },
    pausedUntil,
  };
}

function envRoute(env: EnvRecord): EnvRoute {
  const routable = env.state !== 'empty' && env.state !== 'failed' && env.state !== 'retired';
  return { color: env.color, version: env.version, state: env.state, targets: routable ? [...env.targets] : [] };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

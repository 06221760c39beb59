// Validation of `apps:`: each app's settings, then the rules across apps (a host belongs to one app; at most one
// app goes without hosts and takes every request no other app claims; no two previews share a listener).

import { readAnalysis } from './analysis-schema.ts';
import type { AppConfig, HealthConfig, ListenAddress } from './config.ts';
import { DEFAULT_DRAIN_MS, DEFAULT_HEALTH, DEFAULT_DRAIN_JITTER_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_STANDBY_MS, DEFAULT_SWITCH, DEFAULT_UPSTREAM_CONNECTIONS } from './defaults.ts';
import { readDriver } from './driver-schema.ts';
import { formatDuration } from './duration.ts';
import { readHooks, readWebhooks } from './hooks-schema.ts';
import { joinPath } from './keys.ts';
import { isHostName } from './listen-address.ts';
import { checkPreviewListenersAcrossApps, readPreview } from './preview-schema.ts';
import { readSize } from './limits-schema.ts';
import { type ConfigReader, isAbsent, isMapping } from './reader.ts';
import { readVerify } from './verify-schema.ts';

/** What apps are read against: where relative paths start, and the listeners a preview must not take. */
export interface AppContext {
  /** The config file's directory (the working directory for a config from code). */
  readonly baseDir: string;
  readonly listen: ListenAddress;
  readonly adminListen: ListenAddress;
}

export function readApps(raw: unknown, r: ConfigReader, context: AppContext): Record<string, AppConfig> {
  if (isAbsent(raw)) return {};
  if (!isMapping(raw)) {
    r.problem('apps', 'must be a mapping of app names to their settings');
    return {};
  }
  const apps: Record<string, AppConfig> = {};
  for (const [name, value] of Object.entries(raw)) {
    const named = APP_NAME.test(name);
    if (!named) r.problem(`apps.${name}`, APP_NAME_RULE);
    const app = readApp(name, value, r, context);
    // A bad name is still read through, so its other problems are listed too, but never stored: `__proto__`
    // would otherwise replace the object's prototype.
    if (named) apps[name] = app;
  }
  checkHostsAcrossApps(apps, r);
  checkPreviewListenersAcrossApps(apps, r);
  return apps;
}

const APP_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const APP_NAME_RULE =
  'is not a valid app name: use lower-case letters, digits and dashes, start with a letter or digit, at most 63 characters';

const APP_KEYS = {
  known: [
    'hosts', 'driver', 'health', 'switch', 'drain', 'drainJitter', 'maxBodySize', 'upstreamConnections', 'verify', 'preview', 'analysis', 'standby', 'hooks', 'webhooks',
  ],
  notBuilt: [],
};
const HEALTH_KEYS = { known: ['path', 'interval', 'timeout', 'healthy', 'unhealthy', 'deadline'] };
const SWITCH_MODES = ['auto', 'manual'] as const;
const NOT_A_HOST = '(not a host)';

function readApp(name: string, raw: unknown, r: ConfigReader, context: AppContext): AppConfig {
  const path = `apps.${name}`;
  const app = r.section(raw, path, APP_KEYS);
  const listeners = [
    { name: 'listen', address: context.listen },
    { name: 'admin.listen', address: context.adminListen },
  ];
  const config: AppConfig = {
    name,
    hosts: readHosts(app.hosts, `${path}.hosts`, r),
    driver: readDriver(app.driver, `${path}.driver`, r, context.baseDir),
    health: readHealth(app.health, `${path}.health`, r),
    switch: r.choice(app.switch, `${path}.switch`, SWITCH_MODES, DEFAULT_SWITCH),
    drainMs: r.duration(app.drain, `${path}.drain`, DEFAULT_DRAIN_MS, { allowZero: true }),
    verify: readVerify(app.verify, `${path}.verify`, r),
    preview: readPreview(app.preview, `${path}.preview`, r, listeners),
    analysis: readAnalysis(app.analysis, `${path}.analysis`, r),
    // Zero retires the old environment right after the switch: cheaper, and rollback means a redeploy.
    drainJitterMs: r.duration(app.drainJitter, `${path}.drainJitter`, DEFAULT_DRAIN_JITTER_MS, { allowZero: true }),
    maxBodyBytes: readSize(app.maxBodySize, `${path}.maxBodySize`, DEFAULT_MAX_BODY_BYTES, r, { min: 0, max: 2 ** 50 }),
    upstreamConnections: r.integer(app.upstreamConnections, `${path}.upstreamConnections`, DEFAULT_UPSTREAM_CONNECTIONS, { min: 1, max: 100_000 }),
    standbyMs: r.duration(app.standby, `${path}.standby`, DEFAULT_STANDBY_MS, { allowZero: true }),
    hooks: readHooks(app.hooks, `${path}.hooks`, r, context.baseDir),
    webhooks: readWebhooks(app.webhooks, `${path}.webhooks`, r),
  };
  checkStandbyCoversBake(config, path, r);
  return config;
}

// A failed bake rolls back to the standby; retired before the bake ends, the rollback would be a slow redeploy
// exactly when the new version is known to misbehave.
function checkStandbyCoversBake(app: AppConfig, path: string, r: ConfigReader): void {
  if (app.standbyMs >= app.analysis.bakeMs) return;
  const bake = formatDuration(app.analysis.bakeMs);
  r.problem(`${path}.standby`, `must be at least analysis.bake (${bake}), so the old environment is still warm if the bake fails`);
}

// Hosts are compared with the request's Host header, which is case-insensitive (RFC 9110 §4.2.3) and carries
// the port separately, so they are kept lower-case and without one.
function readHosts(raw: unknown, path: string, r: ConfigReader): string[] {
  if (isAbsent(raw)) return [];
  if (!Array.isArray(raw)) {
    r.problem(path, 'must be a list of host names, like [web.example.com]');
    // Still not a default app: a second "no hosts" problem would only repeat this one.
    return [typeof raw === 'string' ? raw.toLowerCase() : NOT_A_HOST];
  }
  return raw.map((host, i) => {
    const problem = hostProblem(host);
    if (problem) r.problem(joinPath(path, i), problem);
    return String(host).toLowerCase();
  });
}

function hostProblem(host: unknown): string | undefined {
  if (typeof host !== 'string') return 'must be a host name, like web.example.com';
  if (host.includes('/')) return 'must be a host name only, without a scheme or path';
  if (/:\d*$/.test(host)) return 'must not include a port; the Host header is matched without its port';
  if (!isHostName(host)) return `"${host}" is not a valid host name`;
  return undefined;
}

function readHealth(raw: unknown, path: string, r: ConfigReader): HealthConfig {
  const problemsBefore = r.problems.length;
  const health = r.section(raw, path, HEALTH_KEYS);
  const result: HealthConfig = {
    path: readProbePath(health.path, `${path}.path`, r),
    intervalMs: r.duration(health.interval, `${path}.interval`, DEFAULT_HEALTH.intervalMs),
    timeoutMs: r.duration(health.timeout, `${path}.timeout`, DEFAULT_HEALTH.timeoutMs),
    healthy: r.count(health.healthy, `${path}.healthy`, DEFAULT_HEALTH.healthy),
    unhealthy: r.count(health.unhealthy, `${path}.unhealthy`, DEFAULT_HEALTH.unhealthy),
    deadlineMs: r.duration(health.deadline, `${path}.deadline`, DEFAULT_HEALTH.deadlineMs),
  };
  // A target needs `healthy` passes an `interval` apart; a deadline shorter than that fails every deployment.
  const fastestPass = (result.healthy - 1) * result.intervalMs;
  if (r.problems.length === problemsBefore && result.deadlineMs <= fastestPass) {
    const least = formatDuration(fastestPass);
    r.problem(`${path}.deadline`, `must be longer than (healthy - 1) × interval = ${least}, or no target can pass in time`);
  }
  return result;
}

function readProbePath(raw: unknown, path: string, r: ConfigReader): string {
  const probe = r.string(raw, path, DEFAULT_HEALTH.path);
  if (probe.startsWith('/') && !/\s/.test(probe)) return probe;
  r.problem(path, 'must be a URL path starting with /, like /healthz');
  return DEFAULT_HEALTH.path;
}

function checkHostsAcrossApps(apps: Record<string, AppConfig>, r: ConfigReader): void {
  const owners = new Map<string, string>();
  let defaultApp: string | undefined;
  for (const app of Object.values(apps)) {
    const path = `apps.${app.name}.hosts`;
    if (app.hosts.length === 0 && defaultApp === undefined) defaultApp = app.name;
    else if (app.hosts.length === 0) {
      r.problem(path, `is missing, but app "${defaultApp}" already goes without hosts, and only one app (the default) may`);
    }
    app.hosts.forEach((host, i) => {
      if (hostProblem(host)) return; // already reported where it was read
      const owner = owners.get(host);
      if (owner === undefined) owners.set(host, app.name);
      else if (owner === app.name) r.problem(`${path}[${i}]`, `"${host}" is listed twice`);
      else r.problem(`${path}[${i}]`, `"${host}" is already a host of app "${owner}"`);
    });
  }
}

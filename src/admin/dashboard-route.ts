// The dashboard on the admin listener: its static assets (src/dashboard/), and the one API call only the page
// needs, `GET /api/apps/:app/traffic`: each environment's request rate, error rate and p99, second by second.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError } from '../core/errors.ts';
import { COLORS, type Color } from '../core/types.ts';
import { DEFAULT_WINDOW_SECONDS, type StatsSnapshot } from '../stats/env-stats.ts';
import { decodePathPart } from './request-target.ts';

/** What the traffic call reads: StatsRegistry is one. */
export interface TrafficSource {
  forEnv(app: string, color: Color): { window(fromMs: number, toMs: number): StatsSnapshot };
}

/** One second of an environment's traffic, each figure over the SMOOTH_SECONDS up to and including it. */
export interface TrafficPoint {
  /** Epoch ms of the start of the second. */
  readonly at: number;
  readonly rps: number;
  readonly errorRate: number;
  readonly p99Ms: number | null;
  readonly requests: number;
}

export interface EnvTraffic {
  readonly rps: number;
  readonly errorRate: number;
  readonly p99Ms: number | null;
  readonly requests: number;
  /** This environment's part of the app's requests over the last SMOOTH_SECONDS; null when there were none. */
  readonly share: number | null;
  /** Whole seconds, oldest first; the current, partial second is left out. */
  readonly points: readonly TrafficPoint[];
}

export interface AppTraffic {
  readonly app: string;
  readonly at: number;
  readonly windowMs: number;
  readonly envs: Readonly<Record<Color, EnvTraffic>>;
}

/**
 * A p99 over one second of a few requests says nothing, so every figure is taken over the last five seconds.
 * The same window makes the "now" figures and the share.
 */
export const SMOOTH_SECONDS = 5;
/** `?seconds=` default and cap: the history EnvStats keeps. */
export const MAX_TRAFFIC_SECONDS = DEFAULT_WINDOW_SECONDS;

/**
 * The page may run no inline script or style, and may talk to its own origin only. No CORS headers are sent:
 * the admin API is for this page and the CLI, not for other sites' scripts.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS = '/assets/';
const TRAFFIC_PATH = /^\/api\/apps\/([^/]+)\/traffic$/;
const SECOND_MS = 1000;

/**
 * Serves `GET /` (the page) and `GET /assets/NAME` (its scripts, styles and icon). Called before the token check:
 * a browser cannot send a bearer token when it loads a page, and the assets hold no data; the page asks for the
 * token when its first API call gets 401. Returns false for any other request.
 */
export function serveDashboardAsset(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const name = url.pathname === '/' ? 'index.html' : url.pathname.startsWith(ASSETS) ? url.pathname.slice(ASSETS.length) : null;
  const asset = name === null ? undefined : assets().get(name);
  if (asset === undefined) return false;
  if (req.headers['if-none-match'] === asset.etag) {
    send(req, res, 304, '', { etag: asset.etag, 'content-security-policy': DASHBOARD_CSP });
    return true;
  }
  send(req, res, 200, asset.body, {
    'content-type': asset.type,
    // Revalidated each time (a 304 is cheap), so a cutover upgrade never serves a stale page.
    'cache-control': 'no-cache',
    etag: asset.etag,
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  });
  return true;
}

/**
 * `GET /api/apps/:app/traffic[?seconds=120]`: each environment's figures over the last SMOOTH_SECONDS, its share
 * of the app's requests, and one point per whole second for the charts. Called after the token check, like every
 * API call. `apps.app(name)` throws NotFoundError for an unknown app (Controller's does), so that no stats are
 * made for names that are not apps. Returns false for any other request.
 */
export function serveTraffic(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: { readonly stats: TrafficSource; readonly apps: { app(name: string): unknown }; readonly now?: () => number },
): boolean {
  const match = TRAFFIC_PATH.exec(url.pathname);
  if (match === null || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const app = decodePathPart(match[1]!);
  options.apps.app(app);
  const body = appTraffic(options.stats, app, (options.now ?? Date.now)(), trafficSeconds(url));
  send(req, res, 200, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  return true;
}

/** Each environment's figures now and second by second over the last `seconds` whole seconds. */
export function appTraffic(stats: TrafficSource, app: string, now: number, seconds: number): AppTraffic {
  const lastWhole = Math.floor(now / SECOND_MS) - 1;
  const smoothMs = SMOOTH_SECONDS * SECOND_MS;
  const current = { blue: stats.forEnv(app, 'blue').window(now - smoothMs, now), green: stats.forEnv(app, 'green').window(now - smoothMs, now) };
  const total = current.blue.requests + current.green.requests;
  const env = (color: Color): EnvTraffic => {
    const source = stats.forEnv(app, color);
    const points: TrafficPoint[] = [];
    for (let sec = lastWhole - seconds + 1; sec <= lastWhole; sec++) {
      // The window's seconds count whole, so this covers SMOOTH_SECONDS seconds ending with `sec`.
      const s = source.window((sec - SMOOTH_SECONDS + 1) * SECOND_MS, sec * SECOND_MS + SECOND_MS - 1);
      points.push({ at: sec * SECOND_MS, rps: round(s.rps), errorRate: s.errorRate, p99Ms: roundOrNull(s.p99Ms), requests: s.requests });
    }
    const c = current[color];
    const share = total === 0 ? null : c.requests / total;
    return { rps: round(c.rps), errorRate: c.errorRate, p99Ms: roundOrNull(c.p99Ms), requests: c.requests, share, points };
  };
  const envs = Object.fromEntries(COLORS.map((color) => [color, env(color)])) as Record<Color, EnvTraffic>;
  return { app, at: now, windowMs: smoothMs, envs };
}

function trafficSeconds(url: URL): number {
  const raw = url.searchParams.get('seconds');
  if (raw === null) return MAX_TRAFFIC_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) throw new BadRequestError(`seconds must be a whole number ≥ 1, got "${raw}"`);
  return Math.min(seconds, MAX_TRAFFIC_SECONDS);
}

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

let loaded: Map<string, Asset> | null = null;

/**
 * The files of src/dashboard/ with a known type, read once. Only these names are served, so no request path
 * ever reaches the file system.
 */
function assets(): Map<string, Asset> {
  if (loaded !== null) return loaded;
  const dir = new URL('../dashboard/', import.meta.url);
  const found = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (type === undefined) continue;
    const body = readFileSync(new URL(name, dir));
    found.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return (loaded = found);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}

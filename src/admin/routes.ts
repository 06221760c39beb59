import type { IncomingMessage } from 'node:http';
import { BadRequestError } from '../core/errors.ts';
import { DEFAULT_PAUSE_MS } from '../deploy/app-controller.ts';
import type { EventHub } from '../core/events.ts';
import type { Controller } from '../deploy/controller.ts';
import { appStatus, type TargetStatusSource } from './app-status.ts';
import type { Metrics } from './metrics.ts';
import { field, readJsonBody } from './request-body.ts';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly controller: Controller;
  readonly targets: TargetStatusSource;
  readonly events: EventHub;
  readonly reload: () => Promise<unknown>;
  readonly held: (app: string) => number;
  readonly metrics: Metrics;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
}

type Handler = (ctx: RouteContext) => Promise<RouteResult>;

const DEFAULT_HISTORY = 20;
const MAX_HISTORY = 500;

/** The admin API's endpoints, as in DESIGN.md. `:name` segments become params. */
const ROUTES: readonly [method: string, pattern: string, handler: Handler][] = [
  ['GET', '/api/apps', async (c) => ok(c.controller.list().map((a) => appStatus(a, c.controller.appConfig(a.name), c.targets, c.held(a.name))))],
  ['GET', '/api/apps/:app', async (c) => ok(statusOf(c))],
  ['POST', '/api/apps/:app/deployments', deploy],
  ['GET', '/api/apps/:app/deployments', history],
  ['GET', '/api/apps/:app/deployments/:id', deployment],
  ['POST', '/api/apps/:app/switch', (c) => flip(c, 'switch')],
  ['POST', '/api/apps/:app/rollback', (c) => flip(c, 'rollback')],
  ['POST', '/api/apps/:app/pause', pause],
  ['POST', '/api/apps/:app/resume', resume],
  ['POST', '/api/reload', async (c) => ok({ reloaded: true, ...((await c.reload()) as object) })],
  ['GET', '/metrics', async (c) => ({ status: 200, body: await c.metrics.text(), contentType: c.metrics.contentType })],
];

export function matchRoute(method: string, path: string): { handler: Handler; params: Record<string, string> } | null {
  const parts = path.split('/');
  for (const [m, pattern, handler] of ROUTES) {
    const params = matchPattern(pattern.split('/'), parts);
    if (params !== null && m === method) return { handler, params };
  }
  return null;
}

async function deploy(c: RouteContext): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  const body = await readJsonBody(c.req);
  const noSwitch = !field.boolean(body, 'switch', true);
  const { deployment } = await app.deploy({
    version: field.string(body, 'version'),
    targets: field.stringList(body, 'targets'),
    noSwitch,
    who: field.optionalString(body, 'who', 'api'),
  });
  const willSwitch = !noSwitch && c.controller.appConfig(app.name).switch === 'auto';
  return { status: 202, body: { deployment, willSwitch } };
}

async function history(c: RouteContext): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  const limit = Math.min(MAX_HISTORY, Number(c.url.searchParams.get('limit') ?? DEFAULT_HISTORY) || DEFAULT_HISTORY);
  return ok(await app.history(limit));
}

async function deployment(c: RouteContext): Promise<RouteResult> {
  return ok(await c.controller.app(c.params.app!).deployment(c.params.id!));
}

async function flip(c: RouteContext, action: 'switch' | 'rollback'): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  const body = await readJsonBody(c.req);
  const req = { force: field.boolean(body, 'force', false), who: field.optionalString(body, 'who', 'api') };
  await (action === 'switch' ? app.switch(req) : app.rollback(req));
  return ok(statusOf(c));
}

function statusOf(c: RouteContext) {
  const app = c.controller.app(c.params.app!);
  return appStatus(app, c.controller.appConfig(app.name), c.targets, c.held(app.name));
}

async function pause(c: RouteContext): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  const body = await readJsonBody(c.req);
  const maxMs = body.maxMs === undefined ? DEFAULT_PAUSE_MS : body.maxMs;
  if (typeof maxMs !== 'number') throw new BadRequestError('"maxMs" must be a number of milliseconds');
  app.pauseTraffic(maxMs, field.optionalString(body, 'who', 'api'));
  return ok(statusOf(c));
}

async function resume(c: RouteContext): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  const body = await readJsonBody(c.req);
  app.resumeTraffic(field.optionalString(body, 'who', 'api'));
  return ok(statusOf(c));
}

function ok(body: unknown): RouteResult {
  return { status: 200, body };
}

function matchPattern(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i]!.startsWith(':')) params[pattern[i]!.slice(1)] = decodeURIComponent(parts[i]!);
    else if (pattern[i] !== parts[i]) return null;
  }
  return params;
}

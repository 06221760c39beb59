import type { IncomingMessage } from 'node:http';
import { describeReload, type ReloadOutcome } from '../config/reload-outcome.ts';
import { BadRequestError, BusyError, toCutoverError } from '../core/errors.ts';
import { DEFAULT_PAUSE_MS } from '../deploy/app-controller.ts';
import type { EventHub } from '../core/events.ts';
import type { AppRecord } from '../core/types.ts';
import type { Controller } from '../deploy/controller.ts';
import type { AuditAction } from '../store/audit-record.ts';
import { appStatus, type TargetStatusSource } from './app-status.ts';
import type { AuditLog } from './audit-log.ts';
import type { FleetView } from './control-gate.ts';
import { authorize, whoOf, type Caller } from './auth.ts';
import type { Metrics } from './metrics.ts';
import { field, readJsonBody } from './request-body.ts';
import { decodePathPart } from './request-target.ts';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly controller: Controller;
  readonly targets: TargetStatusSource;
  readonly events: EventHub;
  readonly reload: () => Promise<ReloadOutcome>;
  readonly held: (app: string) => number;
  readonly metrics: Metrics;
  readonly caller: Caller;
  readonly audit: AuditLog;
  readonly fleet?: FleetView;
}

/** What a control action's handler gets besides: the JSON body, and who the history names for the call. */
interface ControlContext extends RouteContext {
  readonly body: Record<string, unknown>;
  readonly who: string;
  /** performance.now() when the call arrived, before its body was read. */
  readonly arrivedAt: number;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
}

/** A control action's result, with what the audit trail says came of it. */
interface ControlResult extends RouteResult {
  readonly detail: string;
}

type ReadHandler = (ctx: RouteContext) => Promise<RouteResult>;
type ControlHandler = (ctx: ControlContext) => Promise<ControlResult>;

export type MatchedRoute =
  | { readonly kind: 'read'; readonly handler: ReadHandler; readonly params: Record<string, string> }
  | { readonly kind: 'control'; readonly action: AuditAction; readonly handler: ControlHandler; readonly params: Record<string, string>; readonly fields: readonly string[] };

const DEFAULT_HISTORY = 20;
const MAX_HISTORY = 500;
const DEFAULT_AUDIT = 50;

/** The GET endpoints of DESIGN.md (events and logs stream, so admin-server.ts serves them): any role. */
const READS: readonly [pattern: string, handler: ReadHandler][] = [
  ['/api/apps', async (c) => ok(c.controller.list().map((a) => statusOfApp(c, a.name)))],
  ['/api/apps/:app', async (c) => ok(statusOf(c))],
  ['/api/apps/:app/deployments', history],
  ['/api/apps/:app/deployments/:id', deployment],
  ['/api/audit', audit],
  // With state in etcd: every instance sharing it; without, none.
  ['/api/instances', async (c) => ok(c.fleet?.instances() ?? [])],
  ['/metrics', async (c) => ({ status: 200, body: await c.metrics.text(), contentType: c.metrics.contentType })],
];

/**
 * The POST endpoints: each one a control action, for the admin role only, recorded in the audit trail, with the
 * fields its body may have besides `who`. Any other field is refused: a typo (`swtich: false`) must not be
 * ignored into doing what it meant to prevent.
 */
const CONTROLS: readonly [pattern: string, action: AuditAction, handler: ControlHandler, fields: readonly string[]][] = [
  ['/api/apps/:app/deployments', 'deploy', deploy, ['version', 'targets', 'switch']],
  ['/api/apps/:app/switch', 'switch', (c) => flip(c, 'switch'), ['force', 'from', 'version']],
  ['/api/apps/:app/rollback', 'rollback', (c) => flip(c, 'rollback'), ['force', 'from', 'version']],
  ['/api/apps/:app/pause', 'pause', pause, ['maxMs']],
  ['/api/apps/:app/resume', 'resume', resume, []],
  ['/api/reload', 'reload', reload, []],
];

/** The GET endpoints that stream (admin-server.ts serves them): GET only, no HEAD. */
const STREAMS: readonly (readonly [pattern: string])[] = [['/api/events'], ['/api/apps/:app/logs']];

/** The methods some route answers at `path` (for a 405 that names them); empty when none does. */
export function methodsAt(path: string): string[] {
  const parts = path.split('/');
  const at = (patterns: readonly (readonly [string, ...unknown[]])[]) => patterns.some(([pattern]) => matchPattern(pattern.split('/'), parts) !== null);
  return [...(at(READS) ? ['GET', 'HEAD'] : at(STREAMS) ? ['GET'] : []), ...(at(CONTROLS) ? ['POST'] : [])];
}

export function matchRoute(method: string, path: string): MatchedRoute | null {
  const parts = path.split('/');
  if (method === 'GET') {
    for (const [pattern, handler] of READS) {
      const params = matchPattern(pattern.split('/'), parts);
      if (params !== null) return { kind: 'read', handler, params };
    }
  }
  if (method === 'POST') {
    for (const [pattern, action, handler, fields] of CONTROLS) {
      const params = matchPattern(pattern.split('/'), parts);
      if (params !== null) return { kind: 'control', action, handler, params, fields };
    }
  }
  return null;
}

/** Runs a matched route for `ctx.caller`: a read at once; a control action checked, run and recorded. */
export function runRoute(route: MatchedRoute, ctx: RouteContext): Promise<RouteResult> {
  const c = { ...ctx, params: route.params };
  if (route.kind === 'read') return route.handler(c);
  return runControl(route, c);
}

// Refusals are recorded too (a read-only token trying to switch, a BUSY app): an audit that lists only what
// succeeded would hide exactly the calls worth a look.
async function runControl({ action, handler, fields }: Extract<MatchedRoute, { kind: 'control' }>, c: RouteContext): Promise<ControlResult> {
  const entry = { at: c.audit.now(), action, app: c.params.app ?? null };
  const arrivedAt = performance.now();
  let who = whoOf(c.caller);
  try {
    authorize(c.caller, c.req.method ?? 'POST', c.url.pathname);
    const body = await readJsonBody(c.req);
    field.onlyKnown(body, [...fields, 'who']);
    who = whoOf(c.caller, body.who === undefined ? undefined : field.string(body, 'who'));
    const result = await handler({ ...c, body, who, arrivedAt });
    await c.audit.record({ ...entry, who, outcome: 'ok', detail: result.detail });
    return result;
  } catch (err) {
    const error = toCutoverError(err);
    await c.audit.record({ ...entry, who, outcome: error.code, detail: error.message });
    throw error;
  }
}

async function deploy(c: ControlContext): Promise<ControlResult> {
  const app = c.controller.app(c.params.app!);
  const noSwitch = !field.boolean(c.body, 'switch', true);
  const { deployment } = await app.deploy({
    version: field.string(c.body, 'version'),
    targets: field.stringList(c.body, 'targets'),
    noSwitch,
    who: c.who,
  });
  const willSwitch = !noSwitch && c.controller.appConfig(app.name).switch === 'auto';
  const detail = `${deployment.version} to ${deployment.color}, deployment ${deployment.id}${noSwitch ? ', no switch' : ''}`;
  return { status: 202, body: { deployment, willSwitch }, detail };
}

async function history(c: RouteContext): Promise<RouteResult> {
  const app = c.controller.app(c.params.app!);
  return ok(await app.history(limitOf(c.url, DEFAULT_HISTORY)));
}

async function deployment(c: RouteContext): Promise<RouteResult> {
  return ok(await c.controller.app(c.params.app!).deployment(c.params.id!));
}

/** `GET /api/audit?limit=50&app=web`: control actions, newest first. */
async function audit(c: RouteContext): Promise<RouteResult> {
  const app = c.url.searchParams.get('app');
  return ok(await c.audit.list({ limit: limitOf(c.url, DEFAULT_AUDIT), ...(app === null ? {} : { app }) }));
}

async function flip(c: ControlContext, action: 'switch' | 'rollback'): Promise<ControlResult> {
  const app = c.controller.app(c.params.app!);
  const force = field.boolean(c.body, 'force', false);
  const from = field.optionalColor(c.body, 'from');
  const version = c.body.version === undefined ? undefined : field.string(c.body, 'version');
  const req = { force, who: c.who, arrivedAt: c.arrivedAt, ...(from === undefined ? {} : { from }), ...(version === undefined ? {} : { version }) };
  const record = await (action === 'switch' ? app.switch(req) : app.rollback(req));
  return { ...ok(statusOf(c)), detail: `${liveOf(record)}${force ? ' (forced)' : ''}` };
}

function statusOf(c: RouteContext) {
  return statusOfApp(c, c.params.app!);
}

function statusOfApp(c: RouteContext, name: string) {
  const app = c.controller.app(name);
  const status = appStatus(app, c.controller.appConfig(app.name), c.targets, c.held(app.name));
  return c.fleet === undefined ? status : { ...status, leader: c.fleet.leaderOf(app.name) };
}

async function pause(c: ControlContext): Promise<ControlResult> {
  const app = c.controller.app(c.params.app!);
  if (c.controller.handingOver) throw new BusyError(app.name, 'a restart in place (SIGUSR2)', 'pause it once the new process serves');
  const maxMs = c.body.maxMs === undefined ? DEFAULT_PAUSE_MS : c.body.maxMs;
  if (typeof maxMs !== 'number') throw new BadRequestError('"maxMs" must be a number of milliseconds');
  await app.pauseTraffic(maxMs, c.who);
  return { ...ok(statusOf(c)), detail: `new requests held for at most ${maxMs / 1000}s` };
}

async function resume(c: ControlContext): Promise<ControlResult> {
  const app = c.controller.app(c.params.app!);
  const held = c.held(app.name);
  await app.resumeTraffic(c.who);
  return { ...ok(statusOf(c)), detail: `${held} held request${held === 1 ? '' : 's'} released` };
}

async function reload(c: ControlContext): Promise<ControlResult> {
  const outcome = await c.reload();
  return { ...ok({ reloaded: true, ...outcome }), detail: describeReload(outcome) };
}

function liveOf(record: AppRecord): string {
  if (record.live === null) return 'nothing is live';
  return `${record.live} is live (${record.envs[record.live].version ?? 'no version'})`;
}

/** `?limit=N`: a whole number from 1, at most MAX_HISTORY; `fallback` without one. */
function limitOf(url: URL, fallback: number): number {
  const given = url.searchParams.get('limit');
  if (given === null) return fallback;
  const limit = Number(given);
  if (!/^\d+$/.test(given) || limit < 1) throw new BadRequestError(`"limit" must be a whole number from 1 (at most ${MAX_HISTORY} are listed), not "${given}"`);
  return Math.min(MAX_HISTORY, limit);
}

function ok(body: unknown): RouteResult {
  return { status: 200, body };
}

function matchPattern(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i]!.startsWith(':')) params[pattern[i]!.slice(1)] = decodePathPart(parts[i]!);
    else if (pattern[i] !== parts[i]) return null;
  }
  return params;
}

// Validation of the parsed YAML into the frozen Config: every problem is collected with its dotted path
// (`apps.web.health.interval`) and a plain sentence, so one run of `cutover validate` lists them all.
// Hand-written rather than zod: nearly every message, the "did you mean" and "not built yet" keys, and the
// cross-field rules would have been custom code on top of a schema anyway.

import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { ConfigProblem } from '../core/errors.ts';
import { readApps } from './app-schema.ts';
import { readAdmin } from './admin-schema.ts';
import type { Config, TimeoutsConfig } from './config.ts';
import { DEFAULT_LISTEN, DEFAULT_TIMEOUTS } from './defaults.ts';
import { readAccessLog } from './access-log-schema.ts';
import { readLimits } from './limits-schema.ts';
import { readState } from './state-schema.ts';
import { checkScaleOut } from './scale-out-rules.ts';
import { readTls } from './tls-schema.ts';
import { deepFreeze } from './freeze.ts';
import { ConfigReader, isAbsent, isMapping } from './reader.ts';

export type Validated =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface ValidateOptions {
  /** The config file, which relative paths resolve against; null (the working directory) for a config from code. */
  readonly source?: string | null;
}

export function validateConfig(raw: unknown, options: ValidateOptions = {}): Validated {
  const source = options.source ? resolve(options.source) : null;
  if (!isAbsent(raw) && !isMapping(raw)) {
    const message = 'the config must be a mapping of keys like listen, admin and apps';
    return { ok: false, problems: [{ path: '', message }] };
  }
  const r = new ConfigReader();
  const top = r.section(raw, '', TOP_KEYS);
  const listen = r.listen(top.listen, 'listen', DEFAULT_LISTEN);
  const admin = readAdmin(top.admin, listen, r);
  const baseDir = source ? dirname(source) : process.cwd();
  const config: Config = {
    listen,
    admin,
    state: readState(top.state, baseDir, r),
    timeouts: readTimeouts(top.timeouts, r),
    limits: readLimits(top.limits, r),
    apps: readApps(top.apps, r, { baseDir, listen, adminListen: admin.listen }),
    accessLog: readAccessLog(top.accessLog, baseDir, r),
    tls: readTls(top.tls, baseDir, r),
    workers: readWorkers(top.workers, r),
    source,
  };
  checkScaleOut(config.state, config.apps, r);
  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  return { ok: true, config: deepFreeze(config) };
}

/** More data-path processes than this would only share the same cores. */
const MAX_WORKERS = 64;
const TOP_KEYS = { known: ['listen', 'admin', 'state', 'timeouts', 'limits', 'apps', 'accessLog', 'tls', 'workers'] };
/** `workers`: data-path processes; `auto` (the default) is one per core. 1 keeps the data path in the one process. */
function readWorkers(raw: unknown, r: ConfigReader): number {
  if (raw === undefined || raw === null || raw === 'auto') return availableParallelism();
  if (Number.isSafeInteger(raw) && (raw as number) >= 1 && (raw as number) <= MAX_WORKERS) return raw as number;
  r.problem('workers', `must be "auto" (one per core) or a whole number from 1 to ${MAX_WORKERS}`);
  return 1;
}

const TIMEOUT_KEYS = { known: ['upstreamConnect', 'upstreamResponse', 'requestHead', 'keepAlive'] };

function readTimeouts(raw: unknown, r: ConfigReader): TimeoutsConfig {
  const timeouts = r.section(raw, 'timeouts', TIMEOUT_KEYS);
  return {
    upstreamConnectMs: r.duration(
      timeouts.upstreamConnect, 'timeouts.upstreamConnect', DEFAULT_TIMEOUTS.upstreamConnectMs),
    upstreamResponseMs: r.duration(
      timeouts.upstreamResponse, 'timeouts.upstreamResponse', DEFAULT_TIMEOUTS.upstreamResponseMs),
    requestHeadMs: r.duration(timeouts.requestHead, 'timeouts.requestHead', DEFAULT_TIMEOUTS.requestHeadMs),
    keepAliveMs: r.duration(timeouts.keepAlive, 'timeouts.keepAlive', DEFAULT_TIMEOUTS.keepAliveMs),
  };
}

// `accessLog:` (top level): off unless given; `stdout`, or `{ path: ./access.log }` relative to the config file.

import { isAbsolute, resolve } from 'node:path';
import { type ConfigReader, isAbsent } from './reader.ts';

/** Where the access log goes: a file, or stdout when `path` is null. */
export interface AccessLogConfig {
  readonly path: string | null;
}

const ACCESS_LOG_KEYS = { known: ['path'] };
const HINT = 'must be stdout, or { path: ./access.log } for a file';

/** Null (no access log) when absent. */
export function readAccessLog(raw: unknown, baseDir: string, r: ConfigReader): AccessLogConfig | null {
  if (isAbsent(raw)) return null;
  if (raw === 'stdout') return { path: null };
  if (typeof raw === 'string') {
    r.problem('accessLog', `must be stdout, or { path: ${raw} } for a file`);
    return null;
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    r.problem('accessLog', HINT);
    return null;
  }
  const section = r.section(raw, 'accessLog', ACCESS_LOG_KEYS);
  const path = r.requiredString(section, 'path', 'accessLog', 'needs a path, like { path: ./access.log }');
  if (path === null) return null;
  return { path: isAbsolute(path) ? path : resolve(baseDir, path) };
}

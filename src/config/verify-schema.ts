// `verify:`, the smoke checks a candidate must pass before the switch. Written either as a plain list of checks or
// as `{ checks, command, timeout }` when the user's own test suite runs too.

import type { VerifyCheck, VerifyConfig } from './config.ts';
import { DEFAULT_CHECK_METHOD, DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_VERIFY } from './defaults.ts';
import { formatDuration } from './duration.ts';
import { joinPath } from './keys.ts';
import { type ConfigReader, isAbsent, isMapping, type Section } from './reader.ts';
import { CHECK_VARS, templateProblem } from './template-syntax.ts';

export function readVerify(raw: unknown, path: string, r: ConfigReader): VerifyConfig {
  if (isAbsent(raw)) return DEFAULT_VERIFY;
  if (Array.isArray(raw)) return { ...DEFAULT_VERIFY, checks: readChecks(raw, path, r) };
  if (!isMapping(raw)) {
    r.problem(path, 'must be a list of checks, or { checks: [...], command: ./smoke.sh }');
    return DEFAULT_VERIFY;
  }
  const verify = r.section(raw, path, VERIFY_KEYS);
  return {
    checks: readCheckList(verify.checks, `${path}.checks`, r),
    command: r.optionalString(verify.command, `${path}.command`),
    commandTimeoutMs: r.duration(verify.timeout, `${path}.timeout`, DEFAULT_VERIFY.commandTimeoutMs),
  };
}

/** A token that is a header name (RFC 9110 §5.1), also used for the preview header. */
export function headerNameProblem(name: string): string | undefined {
  return TOKEN.test(name) ? undefined : 'is not a valid header name: use letters, digits and - only';
}

const VERIFY_KEYS = { known: ['checks', 'command', 'timeout'] };
const CHECK_KEYS = {
  known: ['name', 'method', 'path', 'headers', 'status', 'bodyContains', 'json', 'maxLatency', 'timeout'],
};
// Smoke checks read; the other methods are listed because a health endpoint may want HEAD or OPTIONS.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DOTTED = /^[^.\s]+(\.[^.\s]+)*$/;

function readCheckList(raw: unknown, path: string, r: ConfigReader): VerifyCheck[] {
  if (isAbsent(raw)) return [];
  if (Array.isArray(raw)) return readChecks(raw, path, r);
  r.problem(path, 'must be a list of checks, like [{ path: /healthz, status: 200 }]');
  return [];
}

function readChecks(raw: readonly unknown[], path: string, r: ConfigReader): VerifyCheck[] {
  return raw.map((check, i) => readCheck(check, joinPath(path, i), r));
}

function readCheck(raw: unknown, path: string, r: ConfigReader): VerifyCheck {
  if (!isMapping(raw)) r.problem(path, 'must be a check like { path: /version, status: 200 }');
  // An absent path is only worth a second problem when the check is a mapping at all.
  const check = isMapping(raw) ? r.section(raw, path, CHECK_KEYS) : { path: '/' };
  const method = readMethod(check.method, `${path}.method`, r);
  const target = readCheckPath(check, path, r);
  const timeoutMs = r.duration(check.timeout, `${path}.timeout`, DEFAULT_CHECK_TIMEOUT_MS);
  return {
    name: r.optionalString(check.name, `${path}.name`) ?? `${method} ${target}`,
    method,
    path: target,
    headers: r.stringMap(check.headers, `${path}.headers`, headerProblem),
    status: isAbsent(check.status) ? null : r.integer(check.status, `${path}.status`, 200, { min: 100, max: 599 }),
    bodyContains: readBodyContains(check.bodyContains, `${path}.bodyContains`, r),
    json: readJson(check.json, `${path}.json`, r),
    maxLatencyMs: readMaxLatency(check.maxLatency, `${path}.maxLatency`, timeoutMs, r),
    timeoutMs,
  };
}

// HTTP methods are case-sensitive (RFC 9110 §9.1), but `get` in a config can only mean GET.
function readMethod(raw: unknown, path: string, r: ConfigReader): string {
  if (isAbsent(raw)) return DEFAULT_CHECK_METHOD;
  const method = typeof raw === 'string' ? raw.toUpperCase() : '';
  if ((METHODS as readonly string[]).includes(method)) return method;
  r.problem(path, `must be one of ${METHODS.join(', ')}`);
  return DEFAULT_CHECK_METHOD;
}

// "//host/x" would be read as a URL on another host, so a check could leave the candidate; refuse it.
function readCheckPath(check: Section, path: string, r: ConfigReader): string {
  const value = r.requiredString(check, 'path', path, 'needs a path, like { path: /healthz }');
  if (value === null) return '/';
  if (value.startsWith('/') && !value.startsWith('//') && !/\s/.test(value)) return value;
  r.problem(`${path}.path`, 'must be a URL path starting with a single /, like /version');
  return '/';
}

function headerProblem(name: string, value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return 'must not contain line breaks';
  return headerNameProblem(name);
}

function readBodyContains(raw: unknown, path: string, r: ConfigReader): string | null {
  const text = r.optionalString(raw, path);
  const problem = text === null ? undefined : templateProblem(text, CHECK_VARS);
  if (problem) r.problem(path, problem);
  return text;
}

function readJson(raw: unknown, path: string, r: ConfigReader): Record<string, unknown> | null {
  if (isAbsent(raw)) return null;
  if (!isMapping(raw) || Object.keys(raw).length === 0) {
    r.problem(path, 'must map dotted paths to the values they must have, like { version: "{{version}}" }');
    return null;
  }
  const entries = Object.entries(raw).filter(([key, value]) => {
    const problem = jsonEntryProblem(key, value);
    if (problem) r.problem(joinPath(path, key), problem);
    return problem === undefined;
  });
  return Object.fromEntries(entries);
}

function jsonEntryProblem(key: string, value: unknown): string | undefined {
  if (!DOTTED.test(key)) return 'is not a dotted path like build.version or items.0.id';
  if (typeof value === 'string') return templateProblem(value, CHECK_VARS);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return undefined;
  return 'must be a single value (a string, number, true, false or null), not a list or mapping';
}

function readMaxLatency(raw: unknown, path: string, timeoutMs: number, r: ConfigReader): number | null {
  const ms = r.optionalDuration(raw, path);
  if (ms === null || ms < timeoutMs) return ms;
  r.problem(path, `must be shorter than the check's timeout (${formatDuration(timeoutMs)}), which would end it first`);
  return null;
}

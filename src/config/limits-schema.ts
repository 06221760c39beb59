// `limits:` and the client-side `timeouts:`: what one client may cost the proxy, so a slow or idle one never starves
// the others. Every one has a safe default.

import type { LimitsConfig } from './config.ts';
import { DEFAULT_LIMITS } from './defaults.ts';
import { type ConfigReader, isAbsent } from './reader.ts';
import { parseSize, SIZE_HINT } from './size.ts';

const LIMIT_KEYS = { known: ['maxHeaderSize', 'maxConnections'] };

export function readLimits(raw: unknown, r: ConfigReader): LimitsConfig {
  const limits = r.section(raw, 'limits', LIMIT_KEYS);
  return {
    maxHeaderBytes: readSize(limits.maxHeaderSize, 'limits.maxHeaderSize', DEFAULT_LIMITS.maxHeaderBytes, r, { min: 1024, max: 1024 * 1024 }),
    maxConnections: r.integer(limits.maxConnections, 'limits.maxConnections', DEFAULT_LIMITS.maxConnections, { min: 1, max: 1_000_000 }),
  };
}

/** A byte size within [min, max]; 0 is allowed when min is 0 (no limit). */
export function readSize(raw: unknown, path: string, fallback: number, r: ConfigReader, range: { min: number; max: number }): number {
  if (isAbsent(raw)) return fallback;
  const bytes = typeof raw === 'string' || typeof raw === 'number' ? parseSize(raw) : null;
  if (bytes === null) {
    r.problem(path, `${SIZE_HINT}, not ${JSON.stringify(raw)}`);
    return fallback;
  }
  if (bytes < range.min || bytes > range.max) {
    r.problem(path, `must be from ${range.min} bytes to ${range.max} bytes (${JSON.stringify(raw)} is ${bytes})`);
    return fallback;
  }
  return bytes;
}

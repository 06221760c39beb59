// Reads one value at a time out of the parsed YAML, collecting a problem for each bad one instead of stopping, so
// `cutover validate` lists every mistake at once. A bad or absent value yields the fallback, which lets the
// validation carry on through the rest of the file.

import type { ConfigProblem } from '../core/errors.ts';
import type { ListenAddress } from './config.ts';
import { parseDuration } from './duration.ts';
import { keyProblems, type KeySpec } from './keys.ts';
import { parseListenAddress } from './listen-address.ts';

export type Section = Readonly<Record<string, unknown>>;

export class ConfigReader {
  readonly problems: ConfigProblem[] = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A mapping with only the keys `spec` allows; absent (or YAML's empty `key:`) reads as an empty one. */
  section(value: unknown, path: string, spec: KeySpec): Section {
    if (isAbsent(value)) return {};
    if (!isMapping(value)) {
      this.problem(path, 'must be a mapping of keys to values');
      return {};
    }
    this.problems.push(...keyProblems(value, path, spec));
    return value;
  }

  string(value: unknown, path: string, fallback: string): string {
    if (isAbsent(value)) return fallback;
    if (typeof value === 'string') return value;
    this.problem(path, 'must be a string');
    return fallback;
  }

  /** Milliseconds; zero is allowed only where waiting no time at all makes sense (a drain, not a timeout). */
  duration(value: unknown, path: string, fallback: number, { allowZero = false } = {}): number {
    if (isAbsent(value)) return fallback;
    const ms = this.parseDurationAt(value, path);
    if (ms === undefined) return fallback;
    if (ms === 0 && !allowZero) {
      this.problem(path, 'must be longer than 0');
      return fallback;
    }
    return ms;
  }

  /** A whole number of at least 1, like a count of consecutive health checks. */
  count(value: unknown, path: string, fallback: number): number {
    if (isAbsent(value)) return fallback;
    if (Number.isSafeInteger(value) && (value as number) >= 1) return value as number;
    this.problem(path, 'must be a whole number of at least 1');
    return fallback;
  }

  choice<T extends string>(value: unknown, path: string, choices: readonly T[], fallback: T): T {
    if (isAbsent(value)) return fallback;
    if (choices.includes(value as T)) return value as T;
    this.problem(path, `must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`);
    return fallback;
  }

  listen(value: unknown, path: string, fallback: ListenAddress): ListenAddress {
    if (isAbsent(value)) return fallback;
    if (typeof value !== 'string') {
      this.problem(path, 'must be a string like 127.0.0.1:8080, or :8080 for every interface');
      return fallback;
    }
    try {
      return parseListenAddress(value);
    } catch (err) {
      this.problem(path, (err as Error).message);
      return fallback;
    }
  }

  private parseDurationAt(value: unknown, path: string): number | undefined {
    // `drain: 30` would silently mean 30 ms; a unit is required for anything but zero.
    if (typeof value === 'number' && value !== 0) {
      this.problem(path, `has no unit; write ${value}s or ${value}ms`);
      return undefined;
    }
    if (typeof value === 'string' || typeof value === 'number') {
      try {
        return parseDuration(value);
      } catch {
        // parseDuration's own message suits a CLI flag; here the path already names the field.
        if (String(value).trim().startsWith('-')) this.problem(path, 'must not be negative');
        else this.problem(path, typeof value === 'string' ? `${DURATION_HINT}, not "${value}"` : DURATION_HINT);
        return undefined;
      }
    }
    this.problem(path, DURATION_HINT);
    return undefined;
  }
}

const DURATION_HINT = 'must be a duration like 500ms, 2s or 1m';

/** YAML's `key:` with nothing after it parses as null; both it and a missing key mean "use the default". */
export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Reads one value at a time out of the parsed YAML, collecting a problem for each bad one instead of stopping, so
// `cutover validate` lists every mistake at once. A bad or absent value yields the fallback, which lets the
// validation carry on through the rest of the file.

import type { ConfigProblem } from '../core/errors.ts';
import type { ListenAddress } from './config.ts';
import { parseDuration } from './duration.ts';
import { joinPath, keyProblems, type KeySpec } from './keys.ts';
import { parseListenAddress } from './listen-address.ts';

export type Section = Readonly<Record<string, unknown>>;

/** A problem with one entry of a string map, or undefined when it is fine. */
export type EntryCheck = (name: string, value: string) => string | undefined;

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

  /** Like `duration`, for a limit that is off unless given: null when absent or bad. */
  optionalDuration(value: unknown, path: string): number | null {
    if (isAbsent(value)) return null;
    const ms = this.duration(value, path, Number.NaN);
    return Number.isNaN(ms) ? null : ms;
  }

  /** A whole number of at least 1, like a count of consecutive health checks. */
  count(value: unknown, path: string, fallback: number): number {
    if (isAbsent(value)) return fallback;
    if (Number.isSafeInteger(value) && (value as number) >= 1) return value as number;
    this.problem(path, 'must be a whole number of at least 1');
    return fallback;
  }

  /** A whole number from `min` to `max`, like a count of instances. */
  integer(value: unknown, path: string, fallback: number, { min, max }: { min: number; max: number }): number {
    if (isAbsent(value)) return fallback;
    if (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max) return value as number;
    this.problem(path, `must be a whole number from ${min} to ${max}`);
    return fallback;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (isAbsent(value)) return fallback;
    if (typeof value === 'boolean') return value;
    this.problem(path, 'must be true or false');
    return fallback;
  }

  /**
   * A string the section must have. A missing one is reported at the section ("apps.web.preview: needs a secret"),
   * since the key's own path points at nothing in the file; a blank or non-string one at the key.
   */
  requiredString(section: Section, key: string, path: string, missing: string): string | null {
    const value = section[key];
    if (isAbsent(value)) {
      this.problem(path, missing);
      return null;
    }
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.problem(joinPath(path, key), typeof value === 'string' ? 'must not be empty' : 'must be a string');
    return null;
  }

  /** A string that, when given, must not be blank; null when absent. */
  optionalString(value: unknown, path: string): string | null {
    if (isAbsent(value)) return null;
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.problem(path, typeof value === 'string' ? 'must not be empty' : 'must be a string');
    return null;
  }

  /**
   * A mapping of names to strings, like env variables or headers. Numbers and booleans are taken as their text,
   * because YAML reads `WORKERS: 4` as a number and nobody means that as a mistake. `entryProblem` vets each entry.
   */
  stringMap(value: unknown, path: string, entryProblem: EntryCheck): Record<string, string> {
    if (isAbsent(value)) return {};
    if (!isMapping(value)) {
      this.problem(path, 'must be a mapping of names to strings');
      return {};
    }
    const entries: [string, string][] = [];
    for (const [name, item] of Object.entries(value)) {
      const problem = valueProblem(item) ?? entryProblem(name, String(item));
      if (problem) this.problem(joinPath(path, name), problem);
      else entries.push([name, String(item)]);
    }
    // fromEntries defines own properties, so a name like `__proto__` cannot reach the prototype.
    return Object.fromEntries(entries);
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

function valueProblem(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return undefined;
  return 'must be a string';
}

const DURATION_HINT = 'must be a duration like 500ms, 2s or 1m';

/** YAML's `key:` with nothing after it parses as null; both it and a missing key mean "use the default". */
export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

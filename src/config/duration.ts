// Durations as people write them in config files ("800ms", "2s", "1.5m", "1h", "1m30s") and as cutover keeps
// them (milliseconds). The grammar is Go's time.ParseDuration minus the units nobody needs for a proxy.

/**
 * Whole milliseconds from "800ms", "2s", "1.5m", "1h", a sequence like "1m30s", or a number that already is ms.
 * Throws a RangeError whose message says what is wrong and how to write it.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return checkMilliseconds(value);
  const text = value.trim();
  if (text.startsWith('-')) throw new RangeError(`"${value}" is negative; a duration cannot be`);
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new RangeError(`"${value}" has no unit; write ${text}ms or ${text}s`);
  }
  if (!FULL_DURATION.test(text)) {
    const how = 'write a number and a unit (ms, s, m or h), like 500ms, 2s or 1.5m';
    throw new RangeError(`"${value}" is not a duration; ${how}`);
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit as Unit];
  // Sub-millisecond precision is meaningless for timers; rounding keeps 0.1s + 0.2s from becoming 300.00000000000006.
  return Math.round(ms);
}

/** The shortest readable form that parseDuration reads back to the same value: 500ms, 2s, 1.5s, 1m30s, 1h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < UNIT_MS.s) return `${ms}ms`;
  const hours = Math.floor(ms / UNIT_MS.h);
  const minutes = Math.floor((ms % UNIT_MS.h) / UNIT_MS.m);
  const seconds = (ms % UNIT_MS.m) / UNIT_MS.s;
  const parts = [hours && `${hours}h`, minutes && `${minutes}m`, seconds && `${round(seconds)}s`];
  return parts.filter(Boolean).join('');
}

type Unit = 'ms' | 's' | 'm' | 'h';

const UNIT_MS: Record<Unit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

// "ms" comes before "m" so that "5ms" is not read as five minutes followed by garbage.
const PART = String.raw`(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)`;
const FULL_DURATION = new RegExp(`^(?:${PART})+$`);
const DURATION_PART = new RegExp(PART, 'g');

function checkMilliseconds(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError(`${ms} is not a duration; give a number of milliseconds`);
  if (ms < 0) throw new RangeError(`${ms} is negative; a duration cannot be`);
  return Math.round(ms);
}

// Milliseconds are at most three decimals of a second; rounding hides float noise like 1.2000000000000002.
function round(seconds: number): number {
  return Math.round(seconds * 1_000) / 1_000;
}

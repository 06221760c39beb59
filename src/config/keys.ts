// The keys a config section accepts. Anything else is reported rather than ignored, so a typo never silently
// turns into a default: with a suggestion when a known key is close, and a plain "not built yet" for keys that
// DESIGN.md names but this version of cutover does not implement.

import type { ConfigProblem } from '../core/errors.ts';

export interface KeySpec {
  readonly known: readonly string[];
  /** Keys from the design that this version does not build; using one is a problem, not a silent no-op. */
  readonly notBuilt?: readonly string[];
}

export function keyProblems(section: object, path: string, spec: KeySpec): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(section)) {
    if (spec.known.includes(key)) continue;
    const message = spec.notBuilt?.includes(key) ? notBuiltMessage(key) : unknownKeyMessage(key, spec.known);
    problems.push({ path: joinPath(path, key), message });
  }
  return problems;
}

export function notBuiltMessage(key: string): string {
  return `\`${key}\` is not built yet in this version of cutover`;
}

/** The known word a typo most likely meant, or undefined when none is close enough to be a useful guess. */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  const plain = normalize(word);
  const same = known.find((k) => normalize(k) === plain);
  if (same !== undefined) return same;
  const limit = Math.max(1, Math.floor(plain.length / 3));
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(plain, normalize(candidate));
    if (distance <= limit && (!best || distance < best.distance)) best = { word: candidate, distance };
  }
  return best?.word;
}

export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (known.length === 0) return 'unknown key; this section takes no keys';
  const guess = closestWord(key, known);
  if (guess !== undefined) return `unknown key; did you mean \`${guess}\`?`;
  return `unknown key; expected one of ${known.map((k) => `\`${k}\``).join(', ')}`;
}

// upstream_connect, Upstream-Connect and upstreamconnect all mean upstreamConnect.
function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_]/g, '');
}

// Levenshtein distance that also counts a swap of two neighbours as one edit ("drian" → "drain").
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

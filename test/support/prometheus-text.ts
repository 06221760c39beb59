// A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws, naming the line, on
// anything a Prometheus server would reject or that breaks the format's rules (a sample before its TYPE, a family
// split in two, a duplicate series, a histogram whose buckets are not cumulative or lack +Inf).
// https://prometheus.io/docs/instrumenting/exposition_formats/

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

export type Exposition = Map<string, Family>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
};

export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families: Exposition = new Map();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: Family | null = null;
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const at = `line ${i + 1} (${line})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a comment
      const [, keyword, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`${at}: bad metric name`);
      if (closed.has(name)) throw new Error(`${at}: ${name} appears in two places`);
      if (current !== null && current.name !== name) closed.add(current.name);
      const family = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (family.samples.length > 0) throw new Error(`${at}: ${keyword} after samples of ${name}`);
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${at}: unknown type ${rest}`);
        (family as { type: string }).type = rest;
      } else {
        (family as { help: string }).help = rest;
      }
      families.set(name, family);
      current = family;
      return;
    }
    const sample = parseSample(line, at);
    const family = familyOf(sample.name, current);
    if (family === null) throw new Error(`${at}: sample outside the family ${current?.name ?? '(none)'} declared above it`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new Error(`${at}: duplicate series`);
    series.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
    if (family.type === 'counter') {
      for (const s of family.samples) if (!(s.value >= 0)) throw new Error(`${family.name}: counter value ${s.value}`);
    }
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(exposition, name, labels);
  if (found.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Every sample named `name` (a family name, or a histogram's `_bucket`/`_sum`/`_count`) whose labels include `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  const all = [...exposition.values()].flatMap((f) => f.samples).filter((s) => s.name === name);
  return all.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function familyOf(sampleName: string, current: Family | null): Family | null {
  if (current === null) return null;
  if (sampleName === current.name && current.type !== 'histogram') return current;
  const suffixes = SUFFIXES[current.type] ?? [];
  return suffixes.some((s) => s !== '' && sampleName === current.name + s) ? current : null;
}

function parseSample(line: string, at: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (m === null) throw new Error(`${at}: not a sample`);
  return { name: m[1]!, labels: m[2] === undefined ? {} : parseLabels(m[2].slice(1, -1), at), value: parseValue(m[3]!, at) };
}

function parseLabels(text: string, at: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const m = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (m === null) throw new Error(`${at}: bad labels at ${rest}`);
    const [whole, name, raw] = m as unknown as [string, string, string];
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${at}: bad label name ${name}`);
    if (name in labels) throw new Error(`${at}: label ${name} twice`);
    if (/\\[^\\"n]/.test(raw)) throw new Error(`${at}: bad escape in ${raw}`);
    labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/** As Prometheus reads it (Go's ParseFloat): NaN and Inf in any case; prom-client writes NaN as "Nan". */
function parseValue(text: string, at: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${at}: bad value ${text}`);
  return Number(text);
}

/** Per label set (le aside): buckets ascending in le and cumulative, ending at +Inf, which equals _count. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      group.buckets.push([parseValue(le, family.name), s.value]);
    } else if (s.name.endsWith('_count')) group.count = s.value;
    else group.sum = s.value;
  }
  for (const [key, g] of groups) {
    const where = `${family.name}${key}`;
    if (g.count === undefined || g.sum === undefined) throw new Error(`${where}: no _count or _sum`);
    if (g.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${where}: the last bucket is not +Inf`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: le not ascending`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`);
    }
    if (g.buckets.at(-1)![1] !== g.count) throw new Error(`${where}: +Inf bucket ${g.buckets.at(-1)![1]} != _count ${g.count}`);
  }
}

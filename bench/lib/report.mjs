// Turns the runs into one row per contender (medians over runs), prints the tables and writes the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const MEDIAN_FIELDS = ['rps', 'p50Ms', 'p75Ms', 'p90Ms', 'p99Ms', 'cpuUsPerRequest', 'proxyBusy'];

/**
 * One row per contender that was measured: the median of each figure over its runs, errors summed over them.
 * `runs` are those of one connection count. CPU per request is null for `direct` (no proxy process).
 */
export function summarize(runs, names) {
  const rows = [];
  for (const name of names) {
    const mine = runs.filter((r) => r.contender === name && r.result !== null);
    if (mine.length === 0) continue;
    const row = { contender: name, runs: mine.length };
    for (const field of MEDIAN_FIELDS) row[field] = median(mine.map((r) => r.result[field]).filter(Number.isFinite));
    row.errors = mine.reduce((sum, r) => sum + r.result.errors, 0);
    row.failedRuns = runs.filter((r) => r.contender === name && r.result === null).length;
    rows.push(row);
  }
  const of = (name, field) => rows.find((r) => r.contender === name)?.[field] ?? null;
  return rows.map((row) => ({
    ...row,
    vsNginx: ratio(row.rps, of('nginx', 'rps')),
    vsBare: ratio(row.rps, of('bare-undici', 'rps')),
    cpuVsBare: ratio(row.cpuUsPerRequest, of('bare-undici', 'cpuUsPerRequest')),
  }));
}

/** req/s, p50, p99, CPU per request, how busy the proxy was, errors and ratios: the table to compare by. */
export function formatTable(rows) {
  const header = ['contender', 'req/s', 'p50', 'p99', 'CPU µs/req', 'proxy busy', 'errors', 'vs nginx', 'vs bare-undici', 'CPU vs bare-undici'];
  return markdownTable(header, rows.map((r) => [
    r.contender + (r.failedRuns > 0 ? ` (${r.failedRuns} run(s) failed)` : ''),
    Math.round(r.rps).toLocaleString('en-US'),
    ms(r.p50Ms),
    ms(r.p99Ms),
    fixed(r.cpuUsPerRequest, 1),
    r.proxyBusy === null ? '–' : `${Math.round(r.proxyBusy * 100)} %`,
    String(r.errors),
    fixed(r.vsNginx, 2),
    fixed(r.vsBare, 2),
    fixed(r.cpuVsBare, 2),
  ]));
}

/** The latency distribution the load generator reports, medians over runs. */
export function formatDistribution(rows) {
  const header = ['contender', 'p50', 'p75', 'p90', 'p99', 'p99 / p50'];
  return markdownTable(header, rows.map((r) => [r.contender, ms(r.p50Ms), ms(r.p75Ms), ms(r.p90Ms), ms(r.p99Ms), fixed(ratio(r.p99Ms, r.p50Ms), 1)]));
}

/** First column left-aligned, numbers right-aligned; Markdown, so it pastes into the README as is. */
export function markdownTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

export function writeJson(file, data) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** The median of the numbers, or null when there are none. */
export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value at quantile q (0..1) of the numbers, nearest rank; null when there are none. */
export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function ratio(value, reference) {
  return value === null || reference === null || reference === 0 ? null : value / reference;
}

function ms(value) {
  return value === null ? '–' : `${value.toFixed(2)} ms`;
}

function fixed(value, digits) {
  return value === null ? '–' : value.toFixed(digits);
}

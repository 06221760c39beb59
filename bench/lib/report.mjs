// Turns the runs into one row per contender (medians over runs, and its best run), prints the tables and writes
// the JSON.
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
  const bestOf = (name, field) => rows.find((r) => r.contender === name)?.best?.[field] ?? null;
  for (const row of rows) row.best = bestRun(runs.filter((r) => r.contender === row.contender && r.result !== null));
  return rows.map((row) => ({
    ...row,
    vsNginx: ratio(row.rps, of('nginx', 'rps')),
    vsBare: ratio(row.rps, of('bare-undici', 'rps')),
    cpuVsBare: ratio(row.cpuUsPerRequest, of('bare-undici', 'cpuUsPerRequest')),
    best: {
      ...row.best,
      vsNginx: ratio(row.best.rps, bestOf('nginx', 'rps')),
      vsBare: ratio(row.best.rps, bestOf('bare-undici', 'rps')),
      cpuVsBare: ratio(row.best.cpuUsPerRequest, bestOf('bare-undici', 'cpuUsPerRequest')),
    },
  }));
}

/**
 * A contender's best run, `mine` being its runs that worked: the highest req/s and the lowest CPU µs/req, each
 * over those runs, so the two may come from different runs (`rpsRun`, `cpuRun`, `sameRun`); p99 is that of the
 * highest-req/s run. On a shared machine the noise only adds cost (stolen cycles, cold caches): the best run is
 * the steadier estimate of what the contender itself costs. Runs with errors are left out (a run answering
 * errors fast would win on req/s); `runs` is how many runs it was chosen from. Figures are null when no run
 * qualifies, CPU when the contender has no process (`direct`).
 */
function bestRun(mine) {
  const clean = mine.filter((r) => r.result.errors === 0);
  const byRps = pick(clean, (r) => r.result.rps, (a, b) => a > b);
  const byCpu = pick(clean, (r) => r.result.cpuUsPerRequest, (a, b) => a < b);
  return {
    runs: clean.length,
    runsWithErrors: mine.length - clean.length,
    rps: byRps?.result.rps ?? null,
    rpsRun: byRps?.run ?? null,
    p99Ms: byRps?.result.p99Ms ?? null,
    cpuUsPerRequest: byCpu?.result.cpuUsPerRequest ?? null,
    cpuRun: byCpu?.run ?? null,
    sameRun: byRps !== null && byCpu !== null ? byRps.run === byCpu.run : null,
  };
}

/** The run whose value (a finite number) is better than every other's by `better`; the first on a tie; null if none. */
function pick(runs, value, better) {
  let chosen = null;
  for (const r of runs) {
    if (!Number.isFinite(value(r))) continue;
    if (chosen === null || better(value(r), value(chosen))) chosen = r;
  }
  return chosen;
}

/**
 * Each contender against bare-undici run by run. Run N of every contender is taken within the same round of the
 * interleaving, so the ratio of a pair cancels most of the machine's drift between rounds, which a ratio of
 * medians does not. Per contender: how many pairs, and the median, lowest and highest ratio of req/s, CPU µs/req
 * and p99. Runs with errors are left out. Empty without bare-undici.
 */
export function pairedWithBare(runs, names) {
  const clean = (r) => r.result !== null && r.result.errors === 0;
  const bare = new Map(runs.filter((r) => r.contender === 'bare-undici' && clean(r)).map((r) => [r.run, r.result]));
  if (bare.size === 0) return [];
  const rows = [];
  for (const name of names) {
    if (name === 'bare-undici' || name === 'direct') continue;
    const pairs = runs.filter((r) => r.contender === name && clean(r) && bare.has(r.run)).map((r) => [r.result, bare.get(r.run)]);
    if (pairs.length === 0) continue;
    const of = (field) => spread(pairs.map(([mine, theirs]) => ratio(mine[field], theirs[field])));
    rows.push({ contender: name, pairs: pairs.length, rps: of('rps'), cpuUsPerRequest: of('cpuUsPerRequest'), p99Ms: of('p99Ms') });
  }
  return rows;
}

/** The pairs' ratios: median (lowest–highest). */
export function formatPairedTable(rows) {
  const cell = (s) => (s === null ? '–' : `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
  const header = ['contender', 'pairs', 'req/s vs bare-undici', 'CPU µs/req vs bare-undici', 'p99 vs bare-undici'];
  return markdownTable(header, rows.map((r) => [r.contender, String(r.pairs), cell(r.rps), cell(r.cpuUsPerRequest), cell(r.p99Ms)]));
}

function spread(values) {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? null : { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
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

/**
 * Each contender's best run (see bestRun): highest req/s, the p99 of that run, lowest CPU µs/req, which run each
 * came from ("3" when the same run, "3 / 1" for req/s's and CPU's when not), and best-against-best ratios.
 */
export function formatBestTable(rows, runsPerContender) {
  const header = ['contender', 'best req/s', 'p99 (that run)', 'lowest CPU µs/req', 'run (req/s / CPU)', 'best req/s vs nginx', 'best req/s vs bare-undici', 'lowest CPU vs bare-undici'];
  return markdownTable(header, rows.map(({ contender, best: b }) => [
    contender + bestRunsNote(b, runsPerContender),
    b.rps === null ? '–' : Math.round(b.rps).toLocaleString('en-US'),
    ms(b.p99Ms),
    fixed(b.cpuUsPerRequest, 1),
    b.cpuRun === null || b.sameRun ? String(b.rpsRun ?? '–') : `${b.rpsRun ?? '–'} / ${b.cpuRun}`,
    fixed(b.vsNginx, 2),
    fixed(b.vsBare, 2),
    fixed(b.cpuVsBare, 2),
  ]));
}

function bestRunsNote(best, runsPerContender) {
  if (best.runs === runsPerContender) return '';
  const why = best.runsWithErrors > 0 ? `, ${best.runsWithErrors} left out for errors` : '';
  return ` (of ${best.runs} run(s)${why})`;
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

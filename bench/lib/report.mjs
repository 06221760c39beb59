// Turns the runs into one row per contender (medians over runs), prints the table and writes the JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One row per contender that was measured: median req/s, p50 and p99 over its runs; errors summed over them. */
export function summarize(runs, names) {
  const rows = [];
  for (const name of names) {
    const mine = runs.filter((r) => r.contender === name && r.result !== null);
    if (mine.length === 0) continue;
    const results = mine.map((r) => r.result);
    rows.push({
      contender: name,
      runs: mine.length,
      rps: median(results.map((r) => r.rps)),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      failedRuns: runs.filter((r) => r.contender === name && r.result === null).length,
    });
  }
  const rpsOf = (name) => rows.find((r) => r.contender === name)?.rps ?? null;
  const nginx = rpsOf('nginx');
  const bare = rpsOf('bare-undici');
  return rows.map((row) => ({ ...row, vsNginx: ratio(row.rps, nginx), vsBare: ratio(row.rps, bare) }));
}

export function formatTable(rows) {
  const header = ['contender', 'req/s', 'p50', 'p99', 'errors', 'vs nginx', 'vs bare-undici'];
  const body = rows.map((r) => [
    r.contender + (r.failedRuns > 0 ? ` (${r.failedRuns} run(s) failed)` : ''),
    Math.round(r.rps).toLocaleString('en-US'),
    `${r.p50Ms.toFixed(2)} ms`,
    `${r.p99Ms.toFixed(2)} ms`,
    String(r.errors),
    r.vsNginx === null ? '–' : r.vsNginx.toFixed(2),
    r.vsBare === null ? '–' : r.vsBare.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i].length)));
  // First column left-aligned, numbers right-aligned; a Markdown table, so it pastes into the README as is.
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

export function writeJson(file, data) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function ratio(value, reference) {
  return reference === null || reference === 0 ? null : value / reference;
}

// pairedWithBare: `node bench/lib/report.test.mjs` (not part of `npm test`; the bench has no test runner). Exits
// non-zero when a case fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedWithBare } from './report.mjs';

const run = (contender, n, rps, cpuUsPerRequest, p99Ms, errors = 0) => ({ contender, run: n, result: { rps, cpuUsPerRequest, p99Ms, errors } });

test('each run is compared with bare-undici\'s run of the same number, not with its median', () => {
  // The machine halves its speed in round 2: both slow down, their ratio does not.
  const runs = [
    run('bare-undici', 1, 20_000, 50, 5), run('cutover', 1, 19_000, 52, 6),
    run('bare-undici', 2, 10_000, 100, 10), run('cutover', 2, 9_500, 104, 12),
    run('bare-undici', 3, 20_000, 50, 5), run('cutover', 3, 21_000, 48, 4),
  ];
  const [row] = pairedWithBare(runs, ['bare-undici', 'cutover']);
  assert.equal(row.contender, 'cutover');
  assert.equal(row.pairs, 3);
  assert.deepEqual(row.rps, { median: 0.95, min: 0.95, max: 1.05 });
  assert.deepEqual(row.cpuUsPerRequest, { median: 1.04, min: 0.96, max: 1.04 });
  assert.deepEqual(row.p99Ms, { median: 1.2, min: 0.8, max: 1.2 });
});

test('a run with errors, or without its bare-undici pair, is left out; nothing without bare-undici', () => {
  const runs = [
    run('bare-undici', 1, 20_000, 50, 5), run('cutover', 1, 10_000, 50, 5, 3),
    run('bare-undici', 2, 20_000, 50, 5, 1), run('cutover', 2, 10_000, 50, 5),
    run('bare-undici', 3, 20_000, 50, 5), run('cutover', 3, 18_000, 50, 5),
    { contender: 'cutover', run: 4, result: null },
  ];
  assert.deepEqual(pairedWithBare(runs, ['bare-undici', 'cutover']).map((r) => [r.pairs, r.rps.median]), [[1, 0.9]]);
  assert.deepEqual(pairedWithBare(runs.filter((r) => r.contender !== 'bare-undici'), ['cutover']), []);
});

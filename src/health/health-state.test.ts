import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialHealth, observe, type HealthState } from './health-state.ts';

const thresholds = { healthy: 2, unhealthy: 3 };

function run(start: HealthState, results: boolean[]): HealthState {
  return results.reduce((s, ok, i) => observe(s, ok, ok ? null : 'refused', i, thresholds), start);
}

const cases: { desc: string; start: boolean; results: boolean[]; healthy: boolean }[] = [
  { desc: 'one pass is not enough to become healthy', start: false, results: [true], healthy: false },
  { desc: 'two consecutive passes make it healthy', start: false, results: [true, true], healthy: true },
  { desc: 'a failure resets the passes', start: false, results: [true, false, true], healthy: false },
  { desc: 'two failures keep a healthy target in', start: true, results: [false, false], healthy: true },
  { desc: 'three consecutive failures take it out', start: true, results: [false, false, false], healthy: false },
  { desc: 'a pass in between resets the failures', start: true, results: [false, false, true, false, false], healthy: true },
  { desc: 'it comes back after enough passes', start: true, results: [false, false, false, true, true], healthy: true },
];

for (const c of cases) {
  test(c.desc, () => {
    assert.equal(run(initialHealth(c.start), c.results).healthy, c.healthy);
  });
}

test('the last error is kept while failing and cleared by a pass', () => {
  const failed = observe(initialHealth(true), false, 'connection refused', 1, thresholds);
  assert.equal(failed.lastError, 'connection refused');
  assert.equal(observe(failed, true, null, 2, thresholds).lastError, null);
});

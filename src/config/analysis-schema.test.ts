import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { AnalysisConfig } from './config.ts';
import { webApp, webProblems } from './schema-testing.ts';

const OFF: AnalysisConfig = { bakeMs: 0, maxErrorRate: null, maxP99Ms: null, minRequests: 100, compareToBaseline: true };

test('analysis is off unless given, and bakes 2m when given without a bake', () => {
  const cases: { desc: string; analysis: unknown; want: AnalysisConfig }[] = [
    { desc: 'absent', analysis: undefined, want: OFF },
    { desc: 'analysis: with no value', analysis: null, want: OFF },
    { desc: 'a threshold only', analysis: { maxErrorRate: 0.01 }, want: { ...OFF, bakeMs: 120_000, maxErrorRate: 0.01 } },
    {
      desc: 'every key',
      analysis: { bake: '5m', maxErrorRate: 0, maxP99: '800ms', minRequests: 20, compareToBaseline: false },
      want: { bakeMs: 300_000, maxErrorRate: 0, maxP99Ms: 800, minRequests: 20, compareToBaseline: false },
    },
    { desc: 'a percentage', analysis: { maxErrorRate: '0.5%' }, want: { ...OFF, bakeMs: 120_000, maxErrorRate: 0.005 } },
    { desc: 'bake: 0 turns it off', analysis: { bake: 0, maxP99: '1s' }, want: { ...OFF, maxP99Ms: 1_000 } },
  ];
  for (const { desc, analysis, want } of cases) assert.deepEqual(webApp({ analysis }).analysis, want, desc);
});

test('standby defaults to 15m, may be 0, and must outlast the bake', () => {
  assert.equal(webApp({}).standbyMs, 900_000);
  assert.equal(webApp({ standby: 0 }).standbyMs, 0);
  assert.equal(webApp({ standby: '2m', analysis: {} }).standbyMs, 120_000);
  assert.deepEqual(webProblems({ standby: '1m', analysis: { bake: '10m' } }), [
    { path: 'apps.web.standby', message: 'must be at least analysis.bake (10m), so the old environment is still warm if the bake fails' },
  ]);
});

test('bad analysis settings list every problem by their path', () => {
  const at = 'apps.web.analysis';
  const rate = 'must be a share from 0 to 1, like 0.01, or a percentage like 1%';
  const cases: { desc: string; analysis: unknown; want: ConfigProblem[] }[] = [
    { desc: 'a rate over 1', analysis: { maxErrorRate: 5 }, want: [{ path: `${at}.maxErrorRate`, message: rate }] },
    { desc: 'a negative rate', analysis: { maxErrorRate: -0.1 }, want: [{ path: `${at}.maxErrorRate`, message: rate }] },
    { desc: 'a percentage over 100', analysis: { maxErrorRate: '150%' }, want: [{ path: `${at}.maxErrorRate`, message: rate }] },
    { desc: 'a bare p99', analysis: { maxP99: 800 }, want: [{ path: `${at}.maxP99`, message: 'has no unit; write 800s or 800ms' }] },
    { desc: 'zero requests', analysis: { minRequests: 0 }, want: [{ path: `${at}.minRequests`, message: 'must be a whole number of at least 1' }] },
    { desc: 'yes for a boolean', analysis: { compareToBaseline: 'yes' }, want: [{ path: `${at}.compareToBaseline`, message: 'must be true or false' }] },
    {
      desc: 'a bake that checks nothing',
      analysis: { bake: '1m', compareToBaseline: false },
      want: [{ path: at, message: 'checks nothing: set maxErrorRate or maxP99, or compareToBaseline: true (or bake: 0 to turn it off)' }],
    },
    { desc: 'an unknown key', analysis: { maxP95: '1s' }, want: [{ path: `${at}.maxP95`, message: 'unknown key; did you mean `maxP99`?' }] },
  ];
  for (const { desc, analysis, want } of cases) assert.deepEqual(webProblems({ analysis, standby: '1h' }), want, desc);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { EnvStats, type StatsSnapshot } from '../stats/env-stats.ts';
import { AnalysisWatch, judge, metricsOf, takeBaseline, type Judgement, type Verdict } from './analysis.ts';

const T0 = 1_700_000_000_000;
const CONFIG: AnalysisConfig = { bakeMs: 120_000, maxErrorRate: 0.01, maxP99Ms: 800, minRequests: 100, compareToBaseline: true };

function snap(requests: number, errors5xx: number, p99Ms: number | null = requests > 0 ? 120 : null): StatsSnapshot {
  const errorRate = requests === 0 ? 0 : errors5xx / requests;
  return { requests, errors5xx, errorRate, p50Ms: p99Ms && p99Ms / 4, p90Ms: p99Ms && p99Ms / 2, p99Ms, rps: requests / 60 };
}

test('judge: verdicts over thresholds and the baseline', () => {
  const noLimits: Partial<AnalysisConfig> = { maxErrorRate: null, maxP99Ms: null };
  const cases: {
    desc: string;
    config?: Partial<AnalysisConfig>;
    current: StatsSnapshot;
    baseline?: StatsSnapshot | null;
    verdict: Verdict;
    reason?: string | RegExp | null;
  }[] = [
    { desc: 'too few requests, however bad', current: snap(37, 37, 5000), verdict: 'wait', reason: 'waiting for 100 requests, 37 so far' },
    { desc: 'healthy', current: snap(412, 1, 120), verdict: 'pass', reason: null },
    {
      desc: 'error rate over maxErrorRate',
      current: snap(412, 199),
      verdict: 'fail',
      reason: 'error rate 48.3% over 412 requests exceeds maxErrorRate 1%',
    },
    { desc: 'error rate exactly at maxErrorRate', current: snap(1000, 10), verdict: 'pass' },
    { desc: 'maxErrorRate 0 allows no error', config: { maxErrorRate: 0 }, current: snap(1000, 1), verdict: 'fail', reason: /exceeds maxErrorRate 0%/ },
    { desc: 'maxErrorRate unset', config: { ...noLimits, compareToBaseline: false }, current: snap(412, 200), verdict: 'pass' },
    { desc: 'p99 over maxP99', current: snap(412, 0, 1203.4), verdict: 'fail', reason: 'p99 1203 ms over 412 requests exceeds maxP99 800 ms' },
    { desc: 'maxP99 unset', config: { maxP99Ms: null }, current: snap(412, 0, 5000), verdict: 'pass' },
    { desc: 'errors are reported before latency', current: snap(412, 100, 5000), verdict: 'fail', reason: /^error rate/ },
    {
      desc: 'error rate clearly worse than the baseline',
      config: noLimits,
      current: snap(412, 13),
      baseline: snap(6000, 12),
      verdict: 'fail',
      reason: "error rate 3.2% over 412 requests is clearly worse than the old environment's 0.2% before the switch (limit 1.2%)",
    },
    { desc: 'error rate worse, within the absolute margin', config: noLimits, current: snap(1000, 11), baseline: snap(6000, 12), verdict: 'pass' },
    { desc: 'over the rate margin by too few errors to tell', config: noLimits, current: snap(100, 3), baseline: snap(6000, 30), verdict: 'pass' },
    { desc: 'under twice a high baseline', config: noLimits, current: snap(1000, 190), baseline: snap(6000, 600), verdict: 'pass' },
    { desc: 'over twice a high baseline', config: noLimits, current: snap(1000, 210), baseline: snap(6000, 600), verdict: 'fail', reason: /limit 20%\)$/ },
    {
      desc: 'p99 clearly worse than the baseline',
      config: noLimits,
      current: snap(412, 0, 420),
      baseline: snap(6000, 0, 95),
      verdict: 'fail',
      reason: "p99 420 ms over 412 requests is clearly worse than the old environment's 95 ms before the switch (limit 190 ms)",
    },
    { desc: 'p99 under twice the baseline', config: noLimits, current: snap(412, 0, 180), baseline: snap(6000, 0, 95), verdict: 'pass' },
    { desc: 'fast baseline: 10x but within 50 ms', config: noLimits, current: snap(412, 0, 40), baseline: snap(6000, 0, 4), verdict: 'pass' },
    { desc: 'fast baseline: beyond 50 ms', config: noLimits, current: snap(412, 0, 60), baseline: snap(6000, 0, 4), verdict: 'fail', reason: /limit 54 ms\)$/ },
    { desc: 'baseline ignored when not asked for', config: { ...noLimits, compareToBaseline: false }, current: snap(412, 100), baseline: snap(6000, 0), verdict: 'pass' },
    { desc: 'baseline with too few requests ignored', config: noLimits, current: snap(412, 100), baseline: snap(50, 0), verdict: 'pass' },
    { desc: 'no traffic and minRequests 0: nothing to fail', config: { minRequests: 0 }, current: snap(0, 0), baseline: snap(0, 0), verdict: 'pass' },
  ];
  for (const c of cases) {
    const got = judge({ config: { ...CONFIG, ...c.config }, current: c.current, baseline: c.baseline ?? null });
    assert.equal(got.verdict, c.verdict, `${c.desc}: ${got.reason}`);
    if (c.reason instanceof RegExp) assert.match(got.reason ?? '', c.reason, c.desc);
    else if (c.reason !== undefined) assert.equal(got.reason, c.reason, c.desc);
  }
});

test('judge: figures carry the baseline only when it took part', () => {
  const used = judge({ config: CONFIG, current: snap(412, 1), baseline: snap(6000, 12, 95) }).figures;
  assert.deepEqual([used.requests, used.baselineRequests, used.baselineErrorRate, used.baselineP99Ms], [412, 6000, 0.002, 95]);
  const ignored = judge({ config: { ...CONFIG, compareToBaseline: false }, current: snap(412, 1), baseline: snap(6000, 12) }).figures;
  assert.deepEqual([ignored.baselineRequests, ignored.baselineErrorRate, ignored.baselineP99Ms], [null, null, null]);
  assert.deepEqual(Object.keys(metricsOf(ignored)).sort(), ['errorRate', 'errors5xx', 'p50Ms', 'p90Ms', 'p99Ms', 'requests', 'rps']);
});

test('takeBaseline: the old environment over the last minute', () => {
  const clock = fakeClock(T0 + 300_000);
  const old = new EnvStats({ clock });
  old.record(500, 10, T0 + 200_000); // more than a minute before
  for (let i = 0; i < 10; i++) old.record(200, 10, T0 + 250_000 + i * 1000);
  assert.deepEqual([takeBaseline(old, clock.now()).requests, takeBaseline(old, clock.now()).errors5xx], [10, 0]);
});

test('AnalysisWatch reports the first failing check once, then stops', () => {
  const { clock, stats, listener, watch } = setup();
  traffic(stats, 200, 200);
  clock.at = T0 + 5_000;
  assert.equal(watch.check().verdict, 'pass');
  traffic(stats, 50, 500);
  clock.at = T0 + 6_000;
  assert.equal(watch.check().verdict, 'fail');
  traffic(stats, 10_000, 200);
  clock.at = T0 + 200_000;
  assert.equal(watch.check().verdict, 'fail', 'settled: later checks return the failure');
  assert.deepEqual(listener.calls.map((c) => c.kind), ['fail']);
  assert.match(listener.calls[0].judgement.reason ?? '', /error rate 20% over 250 requests exceeds maxErrorRate 1%/);
  assert.equal(watch.result?.verdict, 'fail');
});

test('AnalysisWatch passes when the bake ends without a breach', () => {
  const { clock, stats, listener, watch } = setup();
  traffic(stats, 500, 200);
  clock.at = T0 + CONFIG.bakeMs - 1;
  watch.check();
  assert.equal(listener.calls.length, 0, 'the bake is not over yet');
  clock.at = T0 + CONFIG.bakeMs;
  watch.check();
  assert.deepEqual(listener.calls.map((c) => [c.kind, c.judgement.verdict, c.judgement.figures.requests]), [['done', 'pass', 500]]);
});

test('AnalysisWatch ends a bake with too little traffic as done, not judged', () => {
  const { clock, stats, listener, watch } = setup();
  traffic(stats, 20, 500);
  clock.at = T0 + CONFIG.bakeMs;
  watch.check();
  assert.deepEqual(listener.calls.map((c) => [c.kind, c.judgement.verdict, c.judgement.reason]), [
    ['done', 'wait', 'waiting for 100 requests, 20 so far'],
  ]);
});

test('AnalysisWatch judges from the switch on, and only the stats window once the bake outlasts it', () => {
  const clock = fakeClock(T0 - 5_000);
  const stats = new EnvStats({ clock, windowSeconds: 30 });
  traffic(stats, 500, 500); // the seconds before the switch
  const config = { ...CONFIG, bakeMs: 600_000 };
  const { listener, watch } = setup({ clock, stats, config });
  clock.at = T0;
  traffic(stats, 100, 200);
  assert.equal(watch.check().verdict, 'pass', 'requests before the switch are not judged');
  clock.at = T0 + 10_000;
  traffic(stats, 100, 503);
  clock.at = T0 + 60_000;
  traffic(stats, 200, 200);
  assert.equal(watch.check().verdict, 'pass', 'the errors are older than the window');
  assert.equal(watch.check().figures.requests, 200);
  assert.equal(listener.calls.length, 0);
});

test('AnalysisWatch checks on its own interval until stopped', async () => {
  const { clock, stats, listener, watch } = setup({ intervalMs: 5 });
  traffic(stats, 500, 200);
  watch.start();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(listener.calls.length, 0, 'the bake is not over');
  clock.at = T0 + CONFIG.bakeMs;
  await listener.settled;
  assert.deepEqual(listener.calls.map((c) => c.kind), ['done']);

  const stopped = setup({ intervalMs: 5 });
  stopped.watch.start();
  stopped.watch.stop();
  stopped.clock.at = T0 + CONFIG.bakeMs;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(stopped.listener.calls.length, 0);
  assert.throws(() => new AnalysisWatch({ ...stopped.options, intervalMs: 0 }), /intervalMs must be above 0/);
});

function fakeClock(at = T0): Clock & { at: number } {
  return { at, now() { return this.at; } };
}

function traffic(stats: EnvStats, count: number, status: number, ms = 20): void {
  for (let i = 0; i < count; i++) stats.record(status, ms);
}

function recordingListener() {
  const calls: { kind: 'fail' | 'done'; judgement: Judgement }[] = [];
  let resolve: () => void = () => {};
  const settled = new Promise<void>((r) => (resolve = r));
  const push = (kind: 'fail' | 'done') => (judgement: Judgement) => {
    calls.push({ kind, judgement });
    resolve();
  };
  return { calls, settled, onFail: push('fail'), onDone: push('done') };
}

function setup(over: { clock?: Clock & { at: number }; stats?: EnvStats; config?: AnalysisConfig; intervalMs?: number } = {}) {
  const clock = over.clock ?? fakeClock();
  const stats = over.stats ?? new EnvStats({ clock });
  const listener = recordingListener();
  const options = {
    source: stats,
    config: over.config ?? CONFIG,
    baseline: null,
    switchedAt: T0,
    listener,
    clock,
    intervalMs: over.intervalMs,
  };
  return { clock, stats, listener, options, watch: new AnalysisWatch(options) };
}

test('AnalysisWatch judges latency only after the warm-up, errors from the first request', () => {
  const { clock, stats, listener, watch } = setup();
  clock.at = T0 + 500;
  traffic(stats, 300, 200, 2_000);
  clock.at = T0 + 1_000;
  assert.equal(watch.check().verdict, 'pass', 'a slow first second (cold connections) is not held against the version');
  clock.at = T0 + 4_000;
  traffic(stats, 300, 200, 20);
  clock.at = T0 + 6_000;
  assert.equal(watch.check().verdict, 'pass', 'after the warm-up it is fast');
  traffic(stats, 300, 200, 2_000);
  clock.at = T0 + 7_000;
  assert.equal(watch.check().verdict, 'fail', 'slow after the warm-up is judged');
  assert.match(listener.calls[0]!.judgement.reason ?? '', /p99 [\d.]+ ms over 600 requests exceeds maxP99 800 ms/);

  const early = setup();
  early.clock.at = T0 + 500;
  traffic(early.stats, 300, 500);
  early.clock.at = T0 + 1_000;
  assert.equal(early.watch.check().verdict, 'fail', 'errors count at once');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binOf, binValue, LATENCY_BINS, MAX_LATENCY_MS, MIN_LATENCY_MS, percentiles } from './latency-bins.ts';

test('every latency from 0.1 ms to 60 s is reported within 10% by its bin', () => {
  let worst = 0;
  for (let ms = MIN_LATENCY_MS; ms <= MAX_LATENCY_MS; ms *= 1.003) {
    worst = Math.max(worst, Math.abs(binValue(binOf(ms)) - ms) / ms);
  }
  assert.ok(worst <= 0.1, `worst relative error ${worst}`);
  assert.ok(LATENCY_BINS < 100, `${LATENCY_BINS} bins`);
});

test('latencies outside the range land in the edge bins', () => {
  const cases: { desc: string; ms: number; bin: number }[] = [
    { desc: 'zero', ms: 0, bin: 0 },
    { desc: 'below the minimum', ms: 0.05, bin: 0 },
    { desc: 'negative (a clock step)', ms: -3, bin: 0 },
    { desc: 'NaN', ms: NaN, bin: 0 },
    { desc: 'ten minutes', ms: 600_000, bin: LATENCY_BINS - 1 },
    { desc: 'infinity', ms: Infinity, bin: LATENCY_BINS - 1 },
  ];
  for (const c of cases) assert.equal(binOf(c.ms), c.bin, c.desc);
  assert.ok(binValue(LATENCY_BINS - 1) >= MAX_LATENCY_MS);
});

test('percentiles use the nearest rank', () => {
  const hist = new Array(LATENCY_BINS).fill(0);
  hist[binOf(1)] = 98; // 98 values of 1 ms, one of 100 ms, one of 1 s
  hist[binOf(100)] = 1;
  hist[binOf(1000)] = 1;
  const out = [0, 0, 0, 0];
  percentiles(hist, 100, [0.5, 0.98, 0.99, 1], out);
  assert.deepEqual(out, [binValue(binOf(1)), binValue(binOf(1)), binValue(binOf(100)), binValue(binOf(1000))]);
});

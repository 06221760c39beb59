import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binOf, LATENCY_BINS } from './latency-bins.ts';
import { cumulativeBuckets, LATENCY_BUCKET_SECONDS } from './latency-buckets.ts';

test('buckets double from 0.1 ms to 52.4 s and are exact bin edges', () => {
  assert.equal(LATENCY_BUCKET_SECONDS[0], 0.0001);
  assert.equal(LATENCY_BUCKET_SECONDS.at(-1), 52.4288);
  for (let i = 1; i < LATENCY_BUCKET_SECONDS.length; i++) {
    assert.ok(Math.abs(LATENCY_BUCKET_SECONDS[i]! / LATENCY_BUCKET_SECONDS[i - 1]! - 2) < 1e-9, `bucket ${i}`);
  }
  for (const le of LATENCY_BUCKET_SECONDS) {
    const ms = le * 1000;
    assert.notEqual(binOf(ms * 0.999), binOf(ms * 1.001), `${le} s is a bin edge`);
  }
});

test('each bucket counts exactly the durations below its bound', () => {
  const durationsMs = [0, 0.05, 0.15, 0.3, 0.9, 1, 4.2, 12, 99.9, 100.1, 250, 1000, 3000, 30_000, 52_000, 59_000, 61_000, 600_000];
  const bins = new Array<number>(LATENCY_BINS).fill(0);
  for (const ms of durationsMs) bins[binOf(ms)]!++;
  const got = cumulativeBuckets(bins);
  assert.equal(got.length, LATENCY_BUCKET_SECONDS.length + 1);
  LATENCY_BUCKET_SECONDS.forEach((le, i) => {
    assert.equal(got[i], durationsMs.filter((ms) => ms < le * 1000).length, `le=${le}`);
  });
  assert.equal(got.at(-1), durationsMs.length, '+Inf counts everything');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from '../core/clock.ts';
import { EnvStats, type StatsSnapshot } from './env-stats.ts';
import { binOf } from './latency-bins.ts';
import { STATUS_CLASSES } from './status-class.ts';

const T0 = 1_700_000_000_000; // a whole second

function fakeClock(at = T0): Clock & { at: number } {
  return { at, now() { return this.at; } };
}

/** Deterministic random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Latencies like a real service's: mostly log-normal around 20 ms, a slow tail, some across the whole range. */
function latency(rand: () => number): number {
  const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  if (rand() < 0.05) return 0.1 * 600_000 ** rand();
  return Math.exp(Math.log(20) + normal * (rand() < 0.9 ? 0.5 : 1.5));
}

function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.ceil(p * sorted.length) - 1];
}

test('percentiles are within 10% of the exact ones on random data', () => {
  for (const seed of [1, 2, 3]) {
    const rand = random(seed);
    const clock = fakeClock();
    const stats = new EnvStats({ clock });
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ms = latency(rand);
      values.push(ms);
      stats.record(200, ms);
    }
    values.sort((a, b) => a - b);
    const snap = stats.snapshot(60_000);
    for (const [p, got] of [[0.5, snap.p50Ms], [0.9, snap.p90Ms], [0.99, snap.p99Ms]] as const) {
      const want = nearestRank(values, p);
      assert.ok(Math.abs(got! - want) / want <= 0.1, `seed ${seed} p${p * 100}: ${got} vs exact ${want}`);
    }
  }
});

test('5xx answers count as errors, whoever gave them', () => {
  const stats = new EnvStats({ clock: fakeClock() });
  for (const status of [200, 204, 301, 404, 499, 500, 502, 503, 504, 599, 600]) stats.record(status, 5);
  const snap = stats.snapshot(1000);
  assert.deepEqual([snap.requests, snap.errors5xx], [11, 5]);
  assert.equal(snap.errorRate, 5 / 11);
});

test('an empty window has no percentiles', () => {
  const snap = new EnvStats({ clock: fakeClock() }).snapshot(60_000);
  const empty: StatsSnapshot = { requests: 0, errors5xx: 0, errorRate: 0, p50Ms: null, p90Ms: null, p99Ms: null, rps: 0 };
  assert.deepEqual(snap, empty);
});

test('windows count whole seconds', () => {
  const clock = fakeClock();
  const stats = new EnvStats({ clock });
  stats.record(200, 1, T0);
  stats.record(200, 1, T0 + 999);
  stats.record(500, 1, T0 + 1000);
  stats.record(200, 1, T0 + 2500);
  const cases: { desc: string; from: number; to: number; requests: number }[] = [
    { desc: 'a point inside the first second counts that second', from: T0 + 500, to: T0 + 500, requests: 2 },
    { desc: 'the first two seconds', from: T0, to: T0 + 1999, requests: 3 },
    { desc: 'from a switch mid-second', from: T0 + 1400, to: T0 + 2600, requests: 2 },
    { desc: 'before anything was recorded', from: T0 - 5000, to: T0 - 1, requests: 0 },
    { desc: 'an inverted window', from: T0 + 3000, to: T0, requests: 0 },
  ];
  for (const c of cases) assert.equal(stats.window(c.from, c.to).requests, c.requests, c.desc);
  clock.at = T0 + 2999;
  const last = stats.snapshot(1999);
  assert.deepEqual([last.requests, last.errors5xx], [2, 1], 'the last 1999 ms start on a second boundary');
  assert.equal(stats.snapshot(2000).requests, 4, 'one more millisecond reaches into the first second');
});

test('history older than the window is forgotten, and its slots reused', () => {
  const clock = fakeClock();
  const stats = new EnvStats({ clock, windowSeconds: 120 });
  stats.record(200, 1);
  clock.at = T0 + 120_999;
  assert.equal(stats.snapshot(Infinity).requests, 1, '120 s back is still kept');
  clock.at = T0 + 121_000;
  assert.equal(stats.snapshot(Infinity).requests, 0, '121 s back is gone');
  stats.record(200, 1); // the same slot as the first record
  assert.equal(stats.window(T0, T0 + 999).requests, 0);
  assert.equal(stats.snapshot(1000).requests, 1);
});

test('rps is requests per second over the covered seconds', () => {
  const clock = fakeClock();
  const stats = new EnvStats({ clock });
  for (let s = 0; s < 60; s++) for (let i = 0; i < 10; i++) stats.record(200, 3, T0 + s * 1000 + i * 90);
  clock.at = T0 + 60_000;
  assert.ok(Math.abs(stats.snapshot(60_000).rps - 10) < 0.2, String(stats.snapshot(60_000).rps));
  assert.ok(Math.abs(stats.snapshot(10_000).rps - 10) < 1, String(stats.snapshot(10_000).rps));
});

test('a clock stepping back still counts the request', () => {
  const clock = fakeClock(T0 + 200_000);
  const stats = new EnvStats({ clock });
  stats.record(200, 1);
  stats.record(200, 1, T0 + 200_000 - 121_000); // maps to the slot holding the newer second
  assert.equal(stats.snapshot(1000).requests, 2);
});

test('clear forgets everything in place', () => {
  const stats = new EnvStats({ clock: fakeClock() });
  stats.record(500, 1);
  stats.clear();
  assert.equal(stats.snapshot(60_000).requests, 0);
  stats.record(200, 1);
  assert.equal(stats.snapshot(60_000).requests, 1);
});

test('merging several processes equals recording everything in one', () => {
  const rand = random(7);
  const clock = fakeClock();
  const one = new EnvStats({ clock });
  const workers = [new EnvStats({ clock }), new EnvStats({ clock }), new EnvStats({ clock })];
  // Over 200 s, longer than the window: the oldest seconds must drop alike.
  const times = Array.from({ length: 30_000 }, () => T0 + Math.floor(rand() * 200_000)).sort((a, b) => a - b);
  for (const at of times) {
    const status = rand() < 0.03 ? 503 : 200;
    const ms = latency(rand);
    one.record(status, ms, at);
    workers[Math.floor(rand() * workers.length)].record(status, ms, at);
  }
  clock.at = T0 + 200_000;
  const wire = workers.map((w) => JSON.parse(JSON.stringify(w.export())));
  const merged = EnvStats.merge(wire, { clock });
  assert.deepEqual(merged.export(), one.export());
  for (const windowMs of [1000, 30_000, 60_000, 120_000]) {
    assert.deepEqual(merged.snapshot(windowMs), one.snapshot(windowMs), `last ${windowMs} ms`);
  }
});

test('merge keeps the longest window and refuses another histogram layout', () => {
  const clock = fakeClock();
  const short = new EnvStats({ clock, windowSeconds: 10 });
  const long = new EnvStats({ clock, windowSeconds: 300 });
  short.record(200, 1);
  long.record(200, 1);
  assert.equal(EnvStats.merge([short.export(), long.export()], { clock }).windowSeconds, 300);
  assert.throws(() => EnvStats.merge([{ ...short.export(), layout: 'linear/1ms' }]), /histogram layout linear\/1ms/);
  assert.throws(() => new EnvStats({ windowSeconds: 0 }), /windowSeconds must be a whole number/);
});

test('totals count by status class and never go down, however the window moves', () => {
  const clock = fakeClock();
  const stats = new EnvStats({ clock, windowSeconds: 10 });
  for (const status of [200, 201, 304, 404, 499, 500, 503, 101, 600]) stats.record(status, 2);
  clock.at = T0 + 60_000; // the window has forgotten them; the totals have not
  stats.record(200, 2);
  const byClass = Object.fromEntries(STATUS_CLASSES.map((c, i) => [c, stats.totals().requests[i]]));
  assert.deepEqual(byClass, { '1xx': 1, '2xx': 3, '3xx': 1, '4xx': 1, '5xx': 2, client_closed: 1, other: 1 });
  assert.equal(stats.snapshot(1000).requests, 1);
});

test('the latency totals add up to the requests, with their sum', () => {
  const stats = new EnvStats({ clock: fakeClock() });
  for (const ms of [1, 1, 10, 100, NaN, -1, Infinity]) stats.record(200, ms);
  const { latencyBins, latencySumMs } = stats.totals();
  assert.equal(latencyBins.reduce((a, b) => a + b, 0), 7);
  assert.equal(latencyBins[binOf(10)], 1);
  assert.equal(latencySumMs, 112, 'durations that are not a real time add nothing to the sum');
});

test('clear starts the request totals again for the new version, but not the latency histogram', () => {
  const stats = new EnvStats({ clock: fakeClock() });
  stats.record(200, 5);
  stats.record(502, 5);
  stats.clear();
  stats.record(200, 5);
  const totals = stats.totals();
  assert.deepEqual(totals.requests.slice(1, 5), [1, 0, 0, 0], 'only what came after the clear');
  assert.equal(totals.latencyBins.reduce((a, b) => a + b, 0), 3, 'the histogram keeps all three');
  assert.equal(totals.latencySumMs, 15);
});

test('a million records neither allocate nor grow the heap', async () => {
  const gc = exposeGc();
  const stats = new EnvStats();
  const at = Date.now();
  const run = (n: number, now?: number) => {
    for (let i = 0; i < n; i++) stats.record(i % 50 === 0 ? 502 : 200, (i % 1000) / 3, now);
  };
  run(100_000, at); // warm up: let V8 optimize record before measuring
  run(100_000);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const collections = await countCollections(() => run(1_000_000, at));
  run(1_000_000);
  gc();
  const grew = process.memoryUsage().heapUsed - heapBefore;
  // record itself allocates nothing. Reading the clock per request does make V8 box one double, so the second
  // run, with the clock, is held to the heap not growing, and the first, without it, to no collection at all.
  assert.ok(collections <= 1, `${collections} garbage collections during 1e6 records`);
  assert.ok(grew < 1_000_000, `heap grew by ${grew} bytes over 2e6 records`);
});

/** Garbage collections that started while `fn` ran (entries arrive later, so they are sorted by start time). */
async function countCollections(fn: () => void): Promise<number> {
  const starts: number[] = [];
  const observer = new PerformanceObserver((list) => starts.push(...list.getEntries().map((e) => e.startTime)));
  observer.observe({ entryTypes: ['gc'] });
  const from = performance.now();
  fn();
  const to = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return starts.filter((t) => t >= from && t <= to).length;
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('takeDelta and absorb: what workers record adds up in the primary, window and metric totals alike', () => {
  const clock = fakeClock();
  const primary = new EnvStats({ clock });
  const workers = [new EnvStats({ clock }), new EnvStats({ clock })];
  primary.record(200, 4);
  workers[0]!.record(200, 10);
  workers[0]!.record(503, 30);
  workers[1]!.record(200, 10);
  clock.at += 1_000;
  workers[1]!.record(404, 2);
  for (const worker of workers) primary.absorb(worker.takeDelta()!);

  const seen = primary.snapshot(10_000);
  assert.equal(seen.requests, 5);
  assert.equal(seen.errors5xx, 1);
  const totals = primary.totals();
  assert.equal(totals.requests.reduce((a, b) => a + b, 0), 5);
  assert.equal(totals.requests[STATUS_CLASSES.indexOf('5xx')], 1);
  assert.equal(totals.requests[STATUS_CLASSES.indexOf('4xx')], 1);
  assert.equal(totals.latencyBins[binOf(10)], 2);
  assert.equal(totals.latencySumMs, 56);

  // A delta is taken once: the next one holds only what came after it, and nothing new is no delta at all.
  assert.equal(workers[0]!.takeDelta(), null);
  workers[0]!.record(200, 1);
  const next = workers[0]!.takeDelta()!;
  assert.deepEqual(next.classes.reduce((a, b) => a + b, 0), 1);
  assert.equal(next.seconds.length, 1);
});

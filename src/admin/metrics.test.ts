import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Cutover } from '../main.ts';
import type { StatsRegistry } from '../stats/stats-registry.ts';
import { deploy, eventually, startCutover, type Running } from '../../test/support/cutover-harness.ts';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from '../../test/support/prometheus-text.ts';
import { startUpstream, type Upstream } from '../../test/support/upstream.ts';
import { createMetrics, type Metrics } from './metrics.ts';

/** Answers by path: /missing 404, /fail 500, anything else 200 with the upstream's name. */
async function versionUpstream(t: TestContext, name: string): Promise<Upstream> {
  return startUpstream(t, name, (req, res) => {
    req.resume();
    const status = req.url === '/missing' ? 404 : req.url === '/fail' ? 500 : 200;
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end(name));
  });
}

/** The StatsRegistry the data path records into. TODO(lead): read `cutover.stats` once Cutover exposes it. */
function statsOf(cutover: Cutover): StatsRegistry {
  const exposed = (cutover as unknown as { stats?: StatsRegistry }).stats;
  return exposed ?? (cutover.dataPath as unknown as { options: { stats: StatsRegistry } }).options.stats;
}

function metricsOf(t: TestContext, run: Running): Metrics {
  const { cutover } = run;
  const metrics = createMetrics({
    controller: cutover.controller,
    targets: cutover.registry,
    stats: statsOf(cutover),
    events: cutover.events,
    draining: (app, color) => cutover.dataPath.draining(app, color),
  });
  t.after(() => metrics.close());
  return metrics;
}

async function send(run: Running, counts: Record<string, number>): Promise<void> {
  for (const [path, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) await (await request(run.proxyUrl + path)).body.dump();
  }
}

const web = (env: string, more: Record<string, string> = {}) => ({ app: 'web', env, ...more });

test('/metrics counts the traffic by app, env, version and class, and stays monotonic across switches', async (t) => {
  const run = await startCutover(t);
  const metrics = metricsOf(t, run);
  const scrapes: Exposition[] = [];
  const scrape = async () => {
    const text = await metrics.text();
    const parsed = parsePrometheusText(text);
    scrapes.push(parsed);
    return parsed;
  };
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');

  const v1 = await versionUpstream(t, 'v1');
  await deploy(run, 'v1', [v1.url]);
  await send(run, { '/': 20, '/missing': 2, '/fail': 3 });
  let m = await scrape();
  assert.deepEqual(requestsByClass(m, web('blue', { version: 'v1' })), { '2xx': 20, '3xx': 0, '4xx': 2, '5xx': 3, client_closed: 0 });
  assert.equal(valueOf(m, 'cutover_request_duration_seconds_count', web('blue')), 25);
  assert.equal(valueOf(m, 'cutover_app_live', web('blue')), 1);
  assert.equal(valueOf(m, 'cutover_app_live', web('green')), 0);
  assert.equal(valueOf(m, 'cutover_target_healthy', web('blue', { target: v1.url })), 1);
  assert.equal(valueOf(m, 'cutover_target_requests_total', web('blue', { target: v1.url })), 25);
  assert.equal(valueOf(m, 'cutover_inflight_requests', web('blue')), 0);
  assert.equal(valueOf(m, 'cutover_draining_connections', web('blue')), 0);
  assert.equal(valueOf(m, 'cutover_switches_total', { app: 'web' }), 1);
  assert.equal(valueOf(m, 'cutover_deployments_total', { app: 'web', outcome: 'done' }), 1);
  assert.equal(valueOf(m, 'cutover_deployments_total', { app: 'web', outcome: 'failed' }), 0);
  assert.equal(valueOf(m, 'cutover_paused', { app: 'web' }), 0);
  assert.equal(valueOf(m, 'cutover_upstream_errors_total', web('blue', { kind: 'connect' })), 0);
  for (const phase of ['starting', 'health-gate', 'verifying', 'switching']) {
    assert.equal(valueOf(m, 'cutover_deployment_phase_seconds_count', { app: 'web', phase }), 1, phase);
  }

  const v2 = await versionUpstream(t, 'v2');
  await deploy(run, 'v2', [v2.url]);
  await send(run, { '/': 10 });
  m = await scrape();
  assert.deepEqual(requestsByClass(m, web('blue', { version: 'v1' })), { '2xx': 20, '3xx': 0, '4xx': 2, '5xx': 3, client_closed: 0 }, 'the standby keeps its figures');
  assert.equal(valueOf(m, 'cutover_requests_total', web('green', { version: 'v2', class: '2xx' })), 10);
  assert.equal(valueOf(m, 'cutover_app_live', web('green')), 1);
  assert.equal(valueOf(m, 'cutover_switches_total', { app: 'web' }), 2);

  // v3 goes to blue: its request counts start again under the new version, its latency histogram carries on.
  const v3 = await versionUpstream(t, 'v3');
  await deploy(run, 'v3', [v3.url]);
  await send(run, { '/': 5 });
  m = await scrape();
  assert.equal(samplesOf(m, 'cutover_requests_total', { version: 'v1' }).length, 0, 'the v1 series is gone');
  assert.deepEqual(requestsByClass(m, web('blue', { version: 'v3' })), { '2xx': 5, '3xx': 0, '4xx': 0, '5xx': 0, client_closed: 0 });
  assert.equal(valueOf(m, 'cutover_request_duration_seconds_count', web('blue')), 30);

  assert.equal((await run.api('POST', '/api/apps/web/rollback', {})).status, 200);
  metrics.upstreamErrors.count('web', 'green', 'reset');
  m = await scrape();
  assert.equal(valueOf(m, 'cutover_rollbacks_total', { app: 'web', reason: 'manual' }), 1);
  assert.equal(valueOf(m, 'cutover_rollbacks_total', { app: 'web', reason: 'analysis' }), 0);
  assert.equal(valueOf(m, 'cutover_app_live', web('green')), 1);
  assert.equal(valueOf(m, 'cutover_upstream_errors_total', web('green', { kind: 'reset' })), 1);

  assertMonotonic(scrapes);
  assertBounded(m);
});

test('/metrics shows a pause, and counts what happened before it was created', async (t) => {
  const run = await startCutover(t);
  const v1 = await versionUpstream(t, 'v1');
  await deploy(run, 'v1', [v1.url]);
  const metrics = metricsOf(t, run);
  assert.equal((await run.api('POST', '/api/apps/web/pause', { maxMs: 5000 })).status, 200);
  let m = parsePrometheusText(await metrics.text());
  assert.equal(valueOf(m, 'cutover_paused', { app: 'web' }), 1);
  assert.equal(valueOf(m, 'cutover_switches_total', { app: 'web' }), 1, 'the switch before createMetrics');
  assert.equal((await run.api('POST', '/api/apps/web/resume', {})).status, 200);
  await eventually(async () => valueOf(parsePrometheusText(await metrics.text()), 'cutover_paused', { app: 'web' }) === 0);
  m = parsePrometheusText(await metrics.text());
  assert.ok(samplesOf(m, 'cutover_process_cpu_seconds_total').length === 1, 'process metrics, prefixed');
});

test('the Prometheus parser of these tests rejects what Prometheus would', () => {
  const cases: { desc: string; text: string; error: RegExp }[] = [
    { desc: 'no final newline', text: '# TYPE a gauge\na 1', error: /newline/ },
    { desc: 'a bad value', text: '# TYPE a gauge\na one\n', error: /bad value/ },
    { desc: 'a duplicate series', text: '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n', error: /duplicate/ },
    { desc: 'a family in two places', text: '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n', error: /two places/ },
    { desc: 'a bad escape', text: '# TYPE a gauge\na{x="\\t"} 1\n', error: /escape/ },
    { desc: 'buckets not cumulative', text: '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', error: /cumulative/ },
    { desc: 'no +Inf bucket', text: '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', error: /\+Inf/ },
    { desc: 'a negative counter', text: '# TYPE c counter\nc -1\n', error: /counter value/ },
  ];
  for (const c of cases) assert.throws(() => parsePrometheusText(c.text), c.error, c.desc);
});

const SHOWN_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'client_closed'];

function requestsByClass(m: Exposition, labels: Record<string, string>): Record<string, number> {
  return Object.fromEntries(SHOWN_CLASSES.map((cls) => [cls, valueOf(m, 'cutover_requests_total', { ...labels, class: cls }) ?? NaN]));
}

/** Every counter and histogram series in two scrapes in a row never went down. */
function assertMonotonic(scrapes: Exposition[]): void {
  for (let i = 1; i < scrapes.length; i++) {
    const before = monotonicSeries(scrapes[i - 1]!);
    for (const [key, value] of monotonicSeries(scrapes[i]!)) {
      const old = before.get(key);
      if (old !== undefined) assert.ok(value >= old, `${key} went from ${old} to ${value} between scrapes ${i} and ${i + 1}`);
    }
  }
}

function monotonicSeries(m: Exposition): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of m.values()) {
    if (family.type !== 'counter' && family.type !== 'histogram') continue;
    for (const s of family.samples) out.set(`${s.name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
}

/** Every name is cutover's; labels are only the bounded ones. */
function assertBounded(m: Exposition): void {
  const allowed = new Set(['app', 'env', 'version', 'class', 'target', 'kind', 'reason', 'outcome', 'phase', 'le']);
  for (const family of m.values()) {
    assert.match(family.name, /^cutover_/);
    if (!family.name.startsWith('cutover_') || /^cutover_(process|nodejs)_/.test(family.name)) continue;
    for (const s of family.samples) {
      for (const label of Object.keys(s.labels)) assert.ok(allowed.has(label), `${s.name} has label ${label}`);
    }
  }
  for (const family of ['cutover_requests_total', 'cutover_request_duration_seconds', 'cutover_inflight_requests', 'cutover_app_live']) {
    for (const s of m.get(family)!.samples) assert.ok(s.labels.app === 'web' && /^(blue|green)$/.test(s.labels.env!), `${s.name} app/env`);
  }
}

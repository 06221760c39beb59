// `workers: N`: N data-path processes on the same ports, the control plane in the primary. A switch returns once
// every worker routes by it; their figures add up in the primary; a worker that dies is replaced while the others
// go on serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, spawnServe, spawnServeFresh, tempDir, WEB_APP, type ServeProcess } from './support/cutover-harness.ts';
import { countBy, runLoad } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';
import { childrenOf } from './support/processes.ts';
import { processStartTime } from '../src/core/process-liveness.ts';

async function serveWithWorkers(t: Parameters<typeof tempDir>[0], workers: number): Promise<ServeProcess> {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP, `workers: ${workers}`));
  return spawnServe(t, join(dir, 'cutover.yaml'));
}

/** One request on a new connection: node:cluster hands connections to the workers in turn. */
async function freshGet(url: string): Promise<string> {
  const res = await request(url, { reset: true });
  return `${res.statusCode} ${await res.body.text()}`;
}

test('two workers: each switch is routed by every worker when it returns, under load with no failed request', async (t) => {
  const serve = await serveWithWorkers(t, 2);
  await eventually(() => childrenOf(serve.child.pid!).length === 2, 10_000, 'two data-path workers');
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  assert.equal((await deploy(serve, 'v1', [blue.url])).phase, 'done');
  assert.equal((await deploy(serve, 'v2', [green.url])).phase, 'done');

  const load = runLoad({ url: serve.proxyUrl, clients: 20, durationMs: 6_000 });
  let stale = 0;
  for (let i = 0; i < 16; i++) {
    const action = i % 2 === 0 ? 'rollback' : 'switch';
    const res = await callApi<{ live: string }>(serve.adminUrl, 'POST', `/api/apps/web/${action}`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Right after the switch returns, new connections land on both workers in turn: each must route to the new env.
    const answers = await Promise.all(Array.from({ length: 6 }, () => freshGet(serve.proxyUrl)));
    stale += answers.filter((a) => a !== `200 ${res.body.live}`).length;
    await new Promise((r) => setTimeout(r, 200));
  }
  const samples = await load;
  const statuses = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests through 2 workers over 16 switches; statuses ${JSON.stringify(statuses)}; stale answers after a switch returned: ${stale}`);
  assert.deepEqual(Object.keys(statuses), ['200']);
  assert.equal(stale, 0, 'a worker still routed by the previous table after the switch returned');

  // The figures of both workers add up in the primary (they report every 250 ms).
  const before = samples.length + 16 * 6;
  await eventually(async () => {
    const metrics = await (await request(`${serve.adminUrl}/metrics`)).body.text();
    const total = [...metrics.matchAll(/^cutover_requests_total\{app="web",env="(?:blue|green)"[^}]*class="2xx"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    return total >= before;
  }, 5_000, `cutover_requests_total to reach the ${before} requests sent`);
});

test('a switch returns only after every worker applied it: one worker stopped for 600 ms holds it back', async (t) => {
  const serve = await serveWithWorkers(t, 2);
  await eventually(() => childrenOf(serve.child.pid!).length === 2, 10_000, 'two data-path workers');
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(serve, 'v1', [blue.url]);
  await deploy(serve, 'v2', [green.url]);
  const [frozen] = childrenOf(serve.child.pid!);
  process.kill(frozen!, 'SIGSTOP');
  const thawed = setTimeout(() => process.kill(frozen!, 'SIGCONT'), 600);
  t.after(() => {
    clearTimeout(thawed);
    process.kill(frozen!, 'SIGCONT');
  });
  const started = performance.now();
  const res = await callApi<{ live: string }>(serve.adminUrl, 'POST', '/api/apps/web/rollback', {});
  const tookMs = performance.now() - started;
  t.diagnostic(`the rollback returned after ${tookMs.toFixed(0)} ms with one worker stopped for 600 ms`);
  assert.equal(res.status, 200);
  assert.ok(tookMs >= 550, `returned after ${tookMs.toFixed(0)} ms, before the stopped worker could apply the table`);
  const answers = await Promise.all(Array.from({ length: 6 }, () => freshGet(serve.proxyUrl)));
  assert.deepEqual(new Set(answers), new Set(['200 blue']));
});

test('a worker killed under load is replaced; the other worker keeps serving', async (t) => {
  const serve = await serveWithWorkers(t, 2);
  await eventually(() => childrenOf(serve.child.pid!).length === 2, 10_000, 'two data-path workers');
  const blue = await startUpstream(t, 'blue');
  assert.equal((await deploy(serve, 'v1', [blue.url])).phase, 'done');
  const [victim, survivor] = childrenOf(serve.child.pid!);

  const load = runLoad({ url: serve.proxyUrl, clients: 10, durationMs: 5_000 });
  await new Promise((r) => setTimeout(r, 1_500));
  process.kill(victim!, 'SIGKILL');
  const killedAt = performance.now();
  const samples = await load;

  const after = samples.filter((s) => s.start > killedAt + 100);
  const failed = samples.filter((s) => s.status !== 200);
  t.diagnostic(`${samples.length} requests; ${failed.length} failed (connections of the killed worker); ${after.length} after the kill, ${after.filter((s) => s.status === 200).length} of them 200`);
  // Only requests in flight on the killed worker's connections can fail: at most one per client.
  assert.ok(failed.length <= 10, `${failed.length} failures`);
  assert.ok(after.length > 100 && after.every((s) => s.status === 200), 'requests after the kill are all served');
  await eventually(() => {
    const now = childrenOf(serve.child.pid!);
    return now.length === 2 && now.includes(survivor!) && !now.includes(victim!);
  }, 10_000, 'a replacement worker');
  assert.equal(await freshGet(serve.proxyUrl), '200 blue');
  assert.match(serve.output(), /a data-path worker died; starting another/);
});

test('stopping the primary stops its workers', async (t) => {
  const serve = await serveWithWorkers(t, 2);
  await eventually(() => childrenOf(serve.child.pid!).length === 2, 10_000, 'two data-path workers');
  const workers = childrenOf(serve.child.pid!);
  const exited = new Promise((resolve) => serve.child.once('exit', (code, signal) => resolve({ code, signal })));
  serve.child.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null }, serve.output());
  await eventually(() => workers.every((pid) => processStartTime(pid) === null), 5_000, 'the workers to exit');
});


test('with workers, a reload that removes one app leaves the workers and the other app alone', async (t) => {
  const api = `  api:\n    hosts: [api.example]\n    health: { interval: 50ms, healthy: 1 }`;
  const serve = await spawnServeFresh(t, `${WEB_APP}\n${api}`, 'workers: 2');
  await deploy(serve, 'v1', [(await startUpstream(t, 'web')).url]);
  // api live too, so the workers hold targets of it when the config without it arrives.
  assert.equal((await callApi(serve.adminUrl, 'POST', '/api/apps/api/deployments', { version: 'a1', targets: [(await startUpstream(t, 'api')).url] })).status, 202);
  await eventually(async () => (await callApi<{ live: string | null }>(serve.adminUrl, 'GET', '/api/apps/api')).body.live !== null, 10_000, 'api live');
  const workersBefore = childrenOf(serve.child.pid!).sort();
  const load = runLoad({ url: serve.proxyUrl, clients: 10, durationMs: 1_500 });
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(serve.config, configText(serve.dir, WEB_APP, 'workers: 2'));
  assert.deepEqual((await callApi<{ removed: string[] }>(serve.adminUrl, 'POST', '/api/reload')).body.removed, ['api']);
  const samples = await load;
  assert.deepEqual(countBy(samples, (s) => (s.error ? `error: ${s.error}` : `${s.status} ${s.body}`)), { '200 web': samples.length });
  assert.doesNotMatch(serve.output(), /worker died/);
  assert.deepEqual(childrenOf(serve.child.pid!).sort(), workersBefore, 'the same workers');
});

// Config problems are reported by path and never disturb a running proxy; a valid reload applies under load.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, processApp, runCli, spawnServe, spawnServeFresh, tempDir, WEB_APP, writeReleases } from './support/cutover-harness.ts';
import { countBy, runLoad } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';

const BAD_APPS = `  web:
    health: { interval: soon, healthy: 0 }
    switch: sometimes
    drian: 5s
    preview: { header: x-preview }
  Bad_Name: {}`;

/** `cutover serve` on a config of WEB_APP, with v1 deployed live. */
async function serveWebLive(t: TestContext) {
  const serve = await spawnServeFresh(t);
  await deploy(serve, 'v1', [(await startUpstream(t, 'v1')).url]);
  return { serve, dir: serve.dir, file: serve.config };
}

test('cutover validate lists every problem with its path and exits 1', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, configText(dir, BAD_APPS).replace('admin: { listen: 127.0.0.1:0 }', 'admin: { listen: 0.0.0.0:9900 }'));
  const r = await runCli(['validate', '-c', file]);
  assert.equal(r.code, 1);
  for (const path of ['admin.token', 'apps.web.health.interval', 'apps.web.health.healthy', 'apps.web.switch', 'apps.web.drian', 'apps.web.preview', 'apps.Bad_Name']) {
    assert.match(r.stderr, new RegExp(`\\b${path.replace(/\./g, '\\.')}: `), `names ${path}`);
  }
  assert.match(r.stderr, /did you mean `drain`\?/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('cutover validate accepts a good file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, configText(dir, WEB_APP));
  const r = await runCli(['validate', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid \(1 app: web\)/);
});

test('a bad config on reload is refused with its errors and the running proxy is unaffected', async (t) => {
  const { serve, dir, file } = await serveWebLive(t);

  writeFileSync(file, configText(dir, BAD_APPS));
  const load = runLoad({ url: serve.proxyUrl, clients: 10, durationMs: 1_500 });
  const refused = await callApi<{ error: { code: string; details: { path: string }[] } }>(serve.adminUrl, 'POST', '/api/reload');
  serve.child.kill('SIGHUP');
  const samples = await load;
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, 'CONFIG_INVALID');
  assert.ok(refused.body.error.details.some((p) => p.path === 'apps.web.switch'));
  assert.deepEqual(countBy(samples, (s) => String(s.status)), { 200: samples.length });
  const status = await callApi<{ live: string; switchMode: string }>(serve.adminUrl, 'GET', '/api/apps/web');
  assert.deepEqual([status.body.live, status.body.switchMode], ['blue', 'auto']);
  assert.match(serve.output(), /reload refused, the running config stays/);
  // Its audit entry lists every problem, on one row of `cutover audit`.
  const audit = await runCli(['--admin', serve.adminUrl, 'audit']);
  const rows = audit.stdout.trim().split('\n').slice(1);
  assert.ok(rows.some((r) => /reload .*CONFIG_INVALID .*apps\.web\.switch.*; /.test(r)), audit.stdout);
  assert.ok(rows.every((r) => /^\d{4}-\d\d-\d\d /.test(r)), `a row that is not an entry:\n${audit.stdout}`);
});

test('SIGHUP with a valid file adds an app by host without failing a request', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, configText(dir, WEB_APP));
  const serve = await spawnServe(t, file);
  const web = await startUpstream(t, 'web');
  const api = await startUpstream(t, 'api');
  await deploy(serve, 'v1', [web.url]);

  const load = runLoad({ url: serve.proxyUrl, clients: 20, durationMs: 2_000 });
  writeFileSync(file, configText(dir, `${WEB_APP}\n  api:\n    hosts: [api.example]\n    switch: manual\n    health: { interval: 50ms, healthy: 1 }`));
  serve.child.kill('SIGHUP');
  const samples = await load;
  assert.deepEqual(countBy(samples, (s) => `${s.status} ${s.body}`), { '200 web': samples.length });

  const apps = await callApi<{ name: string; switchMode: string }[]>(serve.adminUrl, 'GET', '/api/apps');
  assert.deepEqual(apps.body.map((a) => [a.name, a.switchMode]), [['web', 'auto'], ['api', 'manual']]);
  const started = await callApi<{ deployment: { id: string } }>(serve.adminUrl, 'POST', '/api/apps/api/deployments', {
    version: 'a1',
    targets: [api.url],
  });
  assert.equal(started.status, 202);
  for (let phase = ''; phase !== 'ready'; await new Promise((r) => setTimeout(r, 20))) {
    const d = await callApi<{ phase: string }>(serve.adminUrl, 'GET', `/api/apps/api/deployments/${started.body.deployment.id}`);
    phase = d.body.phase;
    assert.notEqual(phase, 'failed');
  }
  assert.equal((await callApi(serve.adminUrl, 'POST', '/api/apps/api/switch', {})).status, 200);
  const res = await request(serve.proxyUrl, { headers: { host: 'api.example' } });
  assert.equal(await res.body.text(), 'api');
  assert.equal(await (await request(serve.proxyUrl)).body.text(), 'web');
});

test('a reload that removes an app routes it no more, and lets what is in flight finish, before stopping what it ran: 404, never 502', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cutover.yaml');
  // Each answer takes 300 ms, so the reload always finds requests in flight; and SIGTERM ends the process at once
  // (Node's default), so only the drain (2 s) lets them finish.
  const app = join(dir, 'slow-app.mjs');
  writeFileSync(app, `import { createServer } from 'node:http';
createServer((req, res) => (req.url === '/healthz' ? res.end('ok') : setTimeout(() => res.end('slow'), 300))).listen(Number(process.env.PORT), '127.0.0.1');`);
  writeReleases(dir, { v1: {} });
  const api = `  api:\n    hosts: [api.example]\n    health: { interval: 50ms, healthy: 1 }`;
  writeFileSync(file, configText(dir, `${processApp('', 2, app)}\n${api}`));
  const serve = await spawnServe(t, file);
  assert.equal((await deploy(serve, 'v1', [])).phase, 'done');

  const load = runLoad({ url: serve.proxyUrl, clients: 20, durationMs: 2_000 });
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(file, configText(dir, api));
  const reloaded = await callApi<{ removed: string[] }>(serve.adminUrl, 'POST', '/api/reload');
  assert.deepEqual(reloaded.body.removed, ['web']);
  const samples = await load;
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  assert.deepEqual(Object.keys(outcomes).sort(), ['200', '404'], JSON.stringify(outcomes));
});

test('a config file cut short (no apps) is refused on reload, by the API and by SIGHUP, and audited both ways', async (t) => {
  const { serve, dir, file } = await serveWebLive(t);
  writeFileSync(file, configText(dir, WEB_APP).split('apps:')[0]!);
  const refused = await callApi<{ error: { code: string; details: { path: string }[] } }>(serve.adminUrl, 'POST', '/api/reload');
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.body.error.details.map((p) => p.path), ['apps']);
  serve.child.kill('SIGHUP');
  await eventually(() => /reload refused, the running config stays: .*names no app/.test(serve.output()), 5_000, 'the SIGHUP reload refused');
  assert.equal(await (await request(serve.proxyUrl)).body.text(), 'v1');
  const audit = await callApi<{ who: string; action: string; outcome: string }[]>(serve.adminUrl, 'GET', '/api/audit');
  const reloads = audit.body.filter((e) => e.action === 'reload').map((e) => `${e.who} ${e.outcome}`);
  assert.equal(reloads.length, 2, JSON.stringify(audit.body));
  assert.ok(reloads.includes('SIGHUP CONFIG_INVALID'), reloads.join(', '));
});

test('cutover reload: the running cutover re-reads its file and the CLI says what changed; a bad file exits 1', async (t) => {
  const { serve, dir, file } = await serveWebLive(t);
  const cli = (args: string[]) => runCli(['--admin', serve.adminUrl, ...args]);
  writeFileSync(file, configText(dir, `${WEB_APP}\n  api:\n    hosts: [api.example]`));
  const added = await cli(['reload']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout.trim(), 'reloaded: added: api');
  writeFileSync(file, configText(dir, BAD_APPS));
  const refused = await cli(['reload']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /CONFIG_INVALID/);
  assert.match(refused.stderr, /apps\.web\.switch/);
  assert.equal(await (await request(serve.proxyUrl)).body.text(), 'v1');
});

test('a reload asks for a restart only for what differs from what runs: a change reverted needs none', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, configText(dir, WEB_APP));
  const serve = await spawnServe(t, file);
  const reload = () => callApi<{ needsRestart: string[] }>(serve.adminUrl, 'POST', '/api/reload');
  writeFileSync(file, configText(dir, WEB_APP).replace('listen: 127.0.0.1:0', 'listen: 127.0.0.1:1'));
  assert.deepEqual((await reload()).body.needsRestart, ['listen']);
  assert.deepEqual((await reload()).body.needsRestart, ['listen'], 'still not in effect');
  writeFileSync(file, configText(dir, WEB_APP));
  assert.deepEqual((await reload()).body.needsRestart, [], 'back to what runs');
  // Preview listeners open at start only: an app added with one needs a restart for it.
  writeFileSync(file, configText(dir, `${WEB_APP}\n  pv:\n    hosts: [pv.example]\n    preview: { header: x-preview, secret: a-secret-of-some-length, listen: 127.0.0.1:0 }`));
  assert.deepEqual((await reload()).body.needsRestart, ['apps.pv.preview.listen']);
});

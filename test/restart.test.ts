// State survives a crash: after kill -9 and a restart the same environment and version are live, and the first
// request after the restart is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { flipLive } from '../src/deploy/app-state.ts';
import { enterPhase } from '../src/deploy/deployment.ts';
import { SqliteStore } from '../src/store/sqlite-store.ts';
import { callApi, configText, deploy, eventually, processApp, runCli, spawnServe, spawnServeFresh, startCutover, tempDir, waitForDeployment, WEB_APP, writeReleases } from './support/cutover-harness.ts';
import { startUpstream } from './support/upstream.ts';

const FIXED_PORTS = (proxy: number, admin: number) => (text: string) =>
  text.replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${proxy}`).replace('{ listen: 127.0.0.1:0 }', `{ listen: 127.0.0.1:${admin} }`);

test('kill -9 of cutover serve and a restart keep the live environment and version', async (t) => {
  const first = await spawnServeFresh(t);
  const { dir, config } = first;
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await deploy(first, 'v1', [v1.url]);
  await deploy(first, 'v2', [v2.url]);
  const rolledBack = await callApi(first.adminUrl, 'POST', '/api/apps/web/rollback', {});
  assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));

  // The second run listens on the same ports, as a restarted service would.
  const port = (url: string) => Number(new URL(url).port);
  writeFileSync(config, FIXED_PORTS(port(first.proxyUrl), port(first.adminUrl))(configText(dir, WEB_APP)));
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await spawnServe(t, config);
  const res = await request(second.proxyUrl);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'v1', 'the first request after the restart is served by the live env');
  const status = await callApi<{ live: string; envs: Record<string, { version: string; state: string }> }>(
    second.adminUrl, 'GET', '/api/apps/web',
  );
  assert.equal(status.body.live, 'blue');
  assert.equal(status.body.envs.blue!.version, 'v1');
  assert.deepEqual([status.body.envs.green!.version, status.body.envs.green!.state], ['v2', 'ready']);
  // The candidate's targets must pass their checks again after the restart before a switch is allowed.
  let switched = await callApi<{ live: string }>(second.adminUrl, 'POST', '/api/apps/web/switch', {});
  for (let i = 0; i < 50 && switched.status === 409; i++) {
    await new Promise((r) => setTimeout(r, 50));
    switched = await callApi<{ live: string }>(second.adminUrl, 'POST', '/api/apps/web/switch', {});
  }
  assert.equal(switched.body.live, 'green');
  assert.equal(await (await request(second.proxyUrl)).body.text(), 'v2');
});

test('a pause survives kill -9 and a restart: the restarted cutover holds new requests until the resume', async (t) => {
  const first = await spawnServeFresh(t);
  await deploy(first, 'v1', [(await startUpstream(t, 'v1')).url]);
  const paused = await callApi<{ paused: { until: number } }>(first.adminUrl, 'POST', '/api/apps/web/pause', { maxMs: 60_000 });
  assert.equal(paused.status, 200);
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await spawnServe(t, first.config);
  const status = await callApi<{ paused: { until: number } | null }>(second.adminUrl, 'GET', '/api/apps/web');
  assert.equal(status.body.paused?.until, paused.body.paused.until, 'the same pause, to the same end');
  let answered = false;
  const held = request(second.proxyUrl).then(async (r) => ((answered = true), `${r.statusCode} ${await r.body.text()}`));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(answered, false, 'held, not answered');
  assert.equal((await callApi(second.adminUrl, 'POST', '/api/apps/web/resume', {})).status, 200);
  assert.equal(await held, '200 v1');
});

test('a deployment interrupted by kill -9 is failed cleanly on restart, live untouched', async (t) => {
  const first = await spawnServeFresh(t);
  const { config } = first;
  const v1 = await startUpstream(t, 'v1');
  await deploy(first, 'v1', [v1.url]);
  const never = await startUpstream(t, 'v2');
  never.healthy = false;
  const started = await callApi<{ deployment: { id: string } }>(first.adminUrl, 'POST', '/api/apps/web/deployments', {
    version: 'v2',
    targets: [never.url],
  });
  for (let phase = ''; phase !== 'health-gate'; await new Promise((r) => setTimeout(r, 10))) {
    phase = (await callApi<{ phase: string }>(first.adminUrl, 'GET', `/api/apps/web/deployments/${started.body.deployment.id}`)).body.phase;
  }
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await spawnServe(t, config);
  assert.equal(await (await request(second.proxyUrl)).body.text(), 'v1');
  const d = await callApi<{ phase: string; reason: string }>(second.adminUrl, 'GET', `/api/apps/web/deployments/${started.body.deployment.id}`);
  assert.equal(d.body.phase, 'failed');
  assert.match(d.body.reason, /interrupted by a restart of cutover during health-gate/);
  const again = await deploy(second, 'v3', [v1.url]);
  assert.equal(again.phase, 'done', 'the app is not left locked');
});

// A rollback stores the flip back before the deployment's record (traffic first). kill -9 between the two leaves
// the app live on the old version and the deployment still `watching`: the restart records the rollback.
test('a rollback whose flip was stored but not its deployment record is recorded on restart', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'cutover.yaml');
  const app = `${WEB_APP}
    analysis: { bake: 30s, minRequests: 1000 }`;
  writeFileSync(config, configText(dir, app));
  const first = await spawnServe(t, config);
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await deploy(first, 'v1', [v1.url]);
  const watching = await deploy(first, 'v2', [v2.url], 'watching');
  assert.equal(watching.phase, 'watching');
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  // What the rollback had stored when the kill came: blue live again, the deployment not yet rolled back.
  const store = await SqliteStore.open(join(dir, 'cutover.db'));
  const stored = (await store.getApp('web'))!;
  await store.putApp(flipLive(stored, 'blue', 'ready', Date.now()), stored.revision);
  await store.close();

  const second = await spawnServe(t, config);
  assert.equal(await (await request(second.proxyUrl)).body.text(), 'v1');
  const d = await waitForDeployment(second, watching.id, 'rolled-back', 5_000);
  assert.equal(d.phase, 'rolled-back');
  assert.equal(d.phases.at(-1)!.message, 'rolled back; recorded after a restart of cutover');
  const status = await callApi<{ live: string }>(second.adminUrl, 'GET', '/api/apps/web');
  assert.equal(status.body.live, 'blue');
});

// With a preSwitch hook the flip's commit stores the deployment as `switching` (baseline included), and the phase
// after it follows in a commit of its own. A kill -9 between the two (here: the state the flip's commit leaves) must
// not lose the postSwitch hook: the restart takes the deployment on from `switching` and runs it.
test('a switch stored while its deployment is still switching runs the postSwitch hook on restart', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'cutover.yaml');
  writeFileSync(config, configText(dir, `${WEB_APP}
    hooks: { preSwitch: 'true', postSwitch: 'echo "$CUTOVER_VERSION" >> post-switch.log' }`));
  const first = await spawnServe(t, config);
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await deploy(first, 'v1', [v1.url]);
  const ready = await deploy(first, 'v2', [v2.url], 'ready', { switch: false });
  assert.equal(readFileSync(join(dir, 'post-switch.log'), 'utf8'), 'v1\n');
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const store = await SqliteStore.open(join(dir, 'cutover.db'));
  const app = (await store.getApp('web'))!;
  const deployment = enterPhase((await store.getDeployment(ready.id))!, 'switching', Date.now(), 'switch by t');
  await store.putApp(flipLive(app, 'green', 'standby', Date.now()), app.revision, { deployment });
  await store.close();

  const second = await spawnServe(t, config);
  assert.equal(await (await request(second.proxyUrl)).body.text(), 'v2');
  assert.equal((await waitForDeployment(second, ready.id, 'done', 5_000)).phase, 'done');
  await eventually(async () => readFileSync(join(dir, 'post-switch.log'), 'utf8') === 'v1\nv2\n', 5_000, 'the postSwitch hook ran for v2');
});

test('a second cutover serve on the same state file is refused with one clear line', async (t) => {
  const first = await spawnServeFresh(t);
  const second = await runCli(['serve', '-c', first.config]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`another cutover \\(pid ${first.child.pid}\\) is serving with .*cutover\\.db; stop it first`));
  assert.equal((await request(first.proxyUrl)).statusCode, 503, 'the first one still serves');
});

test('settling after start leaves alone a deployment this process runs: only an interrupted one is settled', async (t) => {
  const running = await startCutover(t, `  web:
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 1, unhealthy: 2, deadline: 3s }
    analysis: { bake: 20s, minRequests: 1000 }
`);
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(running, 'v1', [blue.url], 'done');
  // v2 is switched and watched for its bake: open, and run by this process.
  await deploy(running, 'v2', [green.url], 'watching');
  const app = running.cutover.controller.app('web');
  const run = app.current;
  assert.equal(run?.deployment.phase, 'watching');
  // A settle that comes late (a deploy arrived right after the listeners opened) must not take it for interrupted.
  await running.cutover.controller.settle();
  assert.equal(app.current, run, 'the running deployment was replaced by a recovery run');
  assert.equal(app.current?.deployment.phase, 'watching');
});

test('a deploy sent right after start is not refused as busy by the recovery', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const running = await startCutover(t);
  const app = running.cutover.controller.app('web');
  const { done } = await app.deploy({ version: 'v1', targets: [blue.url], noSwitch: false, who: 'test' });
  assert.equal((await done).phase, 'done');
});

test('after a restart, `cutover logs` marks what an adopted instance wrote before it, rather than giving it the restart time', async (t) => {
  const dir = tempDir(t);
  writeReleases(dir, { v1: {} });
  const config = join(dir, 'cutover.yaml');
  writeFileSync(config, configText(dir, processApp('', 1)));
  const first = await spawnServe(t, config);
  await deploy(first, 'v1', []);
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await spawnServe(t, config);
  const logs = await runCli(['--admin', second.adminUrl, 'logs', 'web', '--env', 'blue']);
  assert.equal(logs.code, 0, logs.stderr);
  const listening = logs.stdout.split('\n').filter((line) => line.includes('listening on'));
  assert.equal(listening.length, 1, logs.stdout);
  assert.match(listening[0]!, /^before \d\d:\d\d:\d\d blue#0 stdout\| v1 blue#0 listening on /);
});

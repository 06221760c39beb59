// Deployments with the process driver: cutover starts each version from its release folder, gates it on health
// and verify checks, switches, and retires the old processes after the standby time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, processApp, runCli, spawnServe, tempDir, writeReleases } from './support/cutover-harness.ts';
import { countBy, runLoad } from './support/load.ts';
import { alive } from './support/processes.ts';

interface Status {
  live: string | null;
  envs: Record<string, { state: string; version: string | null; instances: { pid: number | null; state: string }[] }>;
}

async function serve(t: Parameters<typeof tempDir>[0], extra: string, releases: Record<string, object>) {
  const dir = tempDir(t);
  writeReleases(dir, releases);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, processApp(extra)));
  const s = await spawnServe(t, join(dir, 'cutover.yaml'));
  const status = async () => (await callApi<Status>(s.adminUrl, 'GET', '/api/apps/web')).body;
  return { ...s, dir, status };
}

async function text(url: string): Promise<string> {
  return (await request(url)).body.text();
}

test('v1 then v2 under load: processes started per version, verified, switched, no request lost; old ones retired', async (t) => {
  const verify = '    verify:\n      - { path: /version, json: { version: "{{version}}" } }\n    standby: 1s';
  const s = await serve(t, verify, { v1: { message: 'one' }, v2: { message: 'two' } });
  assert.equal((await deploy(s, 'v1', [])).phase, 'done');
  assert.match(await text(s.proxyUrl), /^hello from v1 on blue#\d: one/);
  const v1Pids = (await s.status()).envs.blue!.instances.map((i) => i.pid!);
  assert.equal(v1Pids.length, 2);

  const load = runLoad({ url: s.proxyUrl, clients: 20, durationMs: 3_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await deploy(s, 'v2', [])).phase, 'done');
  const samples = await load;
  assert.deepEqual(Object.keys(countBy(samples, (x) => String(x.status))), ['200']);
  assert.match(await text(s.proxyUrl), /^hello from v2 on green/);

  await eventually(async () => (await s.status()).envs.blue!.state === 'retired', 10_000, 'blue retired');
  await eventually(() => v1Pids.every((pid) => !alive(pid)), 5_000, 'v1 processes gone');
  const logs = await runCli(['--admin', s.adminUrl, 'logs', 'web', '--env', 'blue']);
  assert.match(logs.stdout, /v1 blue#\d: SIGTERM, closing/);
});

test('a version that never gets healthy fails the deploy; live untouched; its processes stopped', async (t) => {
  const s = await serve(t, '', { v1: {}, v2: { neverHealthy: true } });
  await deploy(s, 'v1', []);
  const started = await callApi<{ deployment: { id: string } }>(s.adminUrl, 'POST', '/api/apps/web/deployments', { version: 'v2' });
  await eventually(async () => (await s.status()).envs.green!.instances.length === 2, 5_000, 'v2 started');
  const v2Pids = (await s.status()).envs.green!.instances.map((i) => i.pid!);
  const second = await callApi<{ error: { code: string } }>(s.adminUrl, 'POST', '/api/apps/web/deployments', { version: 'v3' });
  assert.equal(second.body.error.code, 'BUSY', 'a second deployment is refused while the first runs');
  await eventually(async () => (await callApi<{ phase: string }>(s.adminUrl, 'GET', `/api/apps/web/deployments/${started.body.deployment.id}`)).body.phase === 'failed', 10_000, 'v2 failed');
  const failed = await callApi<{ reason: string }>(s.adminUrl, 'GET', `/api/apps/web/deployments/${started.body.deployment.id}`);
  assert.match(failed.body.reason, /not healthy within 5s: .*GET \/healthz answered 503/);
  assert.match(await text(s.proxyUrl), /hello from v1/);
  await eventually(async () => (await s.status()).envs.green!.state === 'failed', 5_000, 'green marked failed');
  await eventually(() => v2Pids.every((pid) => !alive(pid)), 5_000, 'v2 processes gone');
});

test('a version whose processes exit at start fails its health gate saying that they exited, and how', async (t) => {
  const s = await serve(t, '', { v1: {}, v2: {} });
  // The demo app reads release.json at start: one that is not JSON makes it throw, and exit with 1, every time.
  writeFileSync(join(s.dir, 'releases', 'v2', 'release.json'), '{ not json');
  await deploy(s, 'v1', []);
  const started = await callApi<{ deployment: { id: string } }>(s.adminUrl, 'POST', '/api/apps/web/deployments', { version: 'v2' });
  const path = `/api/apps/web/deployments/${started.body.deployment.id}`;
  await eventually(async () => (await callApi<{ phase: string }>(s.adminUrl, 'GET', path)).body.phase === 'failed', 15_000, 'v2 failed');
  const failed = await callApi<{ reason: string }>(s.adminUrl, 'GET', path);
  assert.match(failed.body.reason, /not healthy within 5s: .*; 2 of 2 instances exited: http:\/\/\S+ exited with code 1 \(\d+ restarts?, now \w+\), .*; see `cutover logs`$/);
  assert.match(await text(s.proxyUrl), /hello from v1/);
});

test('a failed verify check fails the deploy naming the check and what it got', async (t) => {
  const verify = '    verify:\n      - { path: /, status: 200 }';
  const s = await serve(t, verify, { v1: {}, v2: { failRate: 1 } });
  await deploy(s, 'v1', []);
  const d = await deploy(s, 'v2', []);
  assert.equal(d.phase, 'failed');
  assert.match(d.reason!, /^check "GET \/" on http:\/\/127\.0\.0\.1:\d+: answered 500, expected 200$/);
  assert.match(await text(s.proxyUrl), /hello from v1/);
});

test('rollback after the standby was retired redeploys the previous version through the driver', async (t) => {
  const s = await serve(t, '    standby: 500ms', { v1: {}, v2: {} });
  await deploy(s, 'v1', []);
  await deploy(s, 'v2', []);
  await eventually(async () => (await s.status()).envs.blue!.state === 'retired', 10_000, 'blue retired');
  const rolled = await runCli(['--admin', s.adminUrl, 'rollback', 'web', '--json']);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(await text(s.proxyUrl), /hello from v1 on blue/);
  // As after any rollback, the version it replaced is left the candidate, for `cutover switch` to make live again.
  const after = JSON.parse(rolled.stdout) as { live: string; envs: Record<string, { state: string; version: string }> };
  assert.deepEqual([after.live, after.envs.green!.state, after.envs.green!.version], ['blue', 'ready', 'v2']);
  const history = await callApi<{ version: string; who: string; phase: string }[]>(s.adminUrl, 'GET', '/api/apps/web/deployments');
  assert.deepEqual([history.body[0]!.version, history.body[0]!.phase], ['v1', 'done']);
  assert.match(history.body[0]!.who, /\(rollback\)$/);
  // The switch it made is the operator's, not an anonymous automatic one.
  const phases = (history.body[0] as unknown as { phases: { phase: string; message?: string }[] }).phases;
  assert.match(phases.find((p) => p.phase === 'switching')?.message ?? '', /^switch by .* \(rollback\)$/);
});

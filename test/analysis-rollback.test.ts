// After the switch the proxy's own figures judge the new version: a version answering 500 to half its requests is
// rolled back within the bake, under load, without a single request failing for a connection reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callApi, configText, deploy, eventually, processApp, runCli, spawnServe, startCutover, tempDir, waitForDeployment, WEB_APP, writeReleases } from './support/cutover-harness.ts';
import { countBy, runLoad } from './support/load.ts';
import { answerName, startUpstream } from './support/upstream.ts';

const ANALYSIS = '    analysis: { bake: 8s, maxErrorRate: 0.05, minRequests: 50 }';

test('a version answering 500 to half its requests is rolled back within the bake; deploy --wait exits 1', async (t) => {
  const dir = tempDir(t);
  writeReleases(dir, { v1: {}, v2: { failRate: 0.5 } });
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, processApp(ANALYSIS)));
  const s = await spawnServe(t, join(dir, 'cutover.yaml'));
  await deploy(s, 'v1', []);

  // The load lasts until the deploy command returns: on a slow machine the deployment takes longer to reach its
  // switch, and a load that ended first would leave the bake fewer requests than minRequests (a bake that saw too
  // few is not judged, and passes).
  const cliDone = new AbortController();
  t.after(() => cliDone.abort());
  const load = runLoad({ url: s.proxyUrl, clients: 20, durationMs: 30_000, stop: cliDone.signal });
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  const cli = await runCli(['--admin', s.adminUrl, 'deploy', 'web', '--version', 'v2', '--wait']);
  const tookMs = Date.now() - started;
  cliDone.abort();
  const samples = await load;

  assert.equal(cli.code, 1, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /watching/);
  assert.match(cli.stderr, /rolled-back: analysis failed: error rate \d+(\.\d+)?% over \d+ requests exceeds maxErrorRate 5%/);
  assert.ok(tookMs < 8_000, `rolled back within the bake (took ${tookMs} ms)`);

  const [latest] = (await callApi<{ phase: string; metrics: Record<string, number> }[]>(s.adminUrl, 'GET', '/api/apps/web/deployments')).body;
  assert.equal(latest!.phase, 'rolled-back');
  assert.ok(latest!.metrics!.errorRate! > 0.05, 'the figures are kept in history');
  const status = await callApi<{ live: string }>(s.adminUrl, 'GET', '/api/apps/web');
  assert.equal(status.body.live, 'blue');

  const byOutcome = countBy(samples, (x) => (x.error ? 'connection error' : x.status === 500 && x.body.startsWith('error from v2') ? 'v2 app error' : String(x.status)));
  t.diagnostic(`${samples.length} requests: ${JSON.stringify(byOutcome)}`);
  assert.deepEqual(Object.keys(byOutcome).sort(), ['200', 'v2 app error'], 'only the bad version\'s own 500s, nothing from cutover');
});

test('a healthy version passes its bake and the deployment records its figures', async (t) => {
  const dir = tempDir(t);
  writeReleases(dir, { v1: {}, v2: {} });
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, processApp('    analysis: { bake: 2s, maxErrorRate: 0.05, maxP99: 500ms, minRequests: 20 }')));
  const s = await spawnServe(t, join(dir, 'cutover.yaml'));
  await deploy(s, 'v1', []);
  const deployed = new AbortController();
  t.after(() => deployed.abort());
  const load = runLoad({ url: s.proxyUrl, clients: 5, durationMs: 30_000, stop: deployed.signal });
  const d = await deploy(s, 'v2', []);
  deployed.abort();
  await load;
  assert.equal(d.phase, 'done');
  assert.ok(d.metrics!.requests! >= 20, JSON.stringify(d.metrics));
  assert.equal(d.metrics!.errorRate, 0);
  assert.ok(d.metrics!.baselineRequests! > 0, 'the old environment\'s figures before the switch are kept as the baseline');
});

test('a switch back to a version rolled back by hand is watched again, and rolled back again when it fails', async (t) => {
  const run = await startCutover(t, `${WEB_APP}\n    analysis: { bake: 20s, maxErrorRate: 0.05, minRequests: 20 }`);
  const blue = await startUpstream(t, 'blue');
  let failing = false;
  const green = await startUpstream(t, 'green', (req, res, upstream) => (failing ? res.writeHead(500).end('broken') : answerName(req, res, upstream)));
  await deploy(run, 'v1', [blue.url]);
  const v2 = await deploy(run, 'v2', [green.url], 'watching');
  assert.equal(v2.phase, 'watching');
  assert.equal((await run.api('POST', '/api/apps/web/rollback', {})).status, 200);
  assert.equal((await waitForDeployment(run, v2.id, 'rolled-back')).reason, 'rolled back by local');

  failing = true;
  const switched = await run.api<{ live: string }>('POST', '/api/apps/web/switch', {});
  assert.equal(switched.status, 200, JSON.stringify(switched.body));
  assert.equal(switched.body.live, 'green');
  const back = await waitForDeployment(run, v2.id, 'watching');
  assert.deepEqual([back.phase, back.reason, back.phases.at(-1)!.message], ['watching', null, 'switched back by local; watching']);

  const stop = new AbortController();
  t.after(() => stop.abort());
  const load = runLoad({ url: run.proxyUrl, clients: 4, durationMs: 15_000, stop: stop.signal });
  const end = await waitForDeployment(run, v2.id, 'rolled-back', 15_000);
  stop.abort();
  await load;
  assert.equal(end.phase, 'rolled-back');
  assert.match(end.reason ?? '', /^analysis failed: error rate/);
  const status = () => run.api<{ live: string; envs: Record<string, { state: string }> }>('GET', '/api/apps/web');
  assert.equal((await status()).body.live, 'blue');
  // Stopped and marked failed in the steps after the rollback's commit.
  await eventually(async () => (await status()).body.envs.green!.state === 'failed', 5_000, 'a version the analysis rejected is not left warm');
});

// The instance running a deployment dies (SIGKILL) in the middle of it: another instance wins the app's election
// once the dead one's lease runs out, and settles the deployment the way a restart would: one caught before the
// switch fails cleanly (live untouched), one waiting for its switch is resumed and can be finished. History keeps
// every deployment, each in one final phase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callApi, deploy, eventually, waitForDeployment, type DeploymentView } from './support/cutover-harness.ts';
import { startEtcd } from './support/etcd.ts';
import { leaderOf, routedTo, startFleet, untilAllRouteTo } from './support/fleet.ts';
import { startUpstream } from './support/upstream.ts';

// v2's preDeploy hook holds its deployment in `starting` long enough to kill the instance running it.
const SLOW_V2 = `    hooks: { preDeploy: 'if [ "$CUTOVER_VERSION" = v2 ]; then sleep 5; fi' }`;

test('the leader is killed mid-deployment: another instance fails it cleanly, then finishes one left waiting', async (t) => {
  const etcd = await startEtcd(t);
  let fleet = await startFleet(t, { endpoints: [etcd.endpoint], app: SLOW_V2 });
  const [v1, v2, v3] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2'), await startUpstream(t, 'v3')];
  assert.equal((await deploy(fleet[0]!, 'v1', [v1.url])).phase, 'done');

  const first = (await leaderOf(fleet))!;
  const started = await callApi<{ deployment: { id: string } }>(fleet[0]!.adminUrl, 'POST', '/api/apps/web/deployments', { version: 'v2', targets: [v2.url] });
  assert.equal(started.status, 202);
  const v2Id = started.body.deployment.id;
  await new Promise((r) => setTimeout(r, 300));
  const killedAt = performance.now();
  first.child.kill('SIGKILL');
  fleet = fleet.filter((i) => i !== first);

  const failed = await waitForDeployment(fleet[0]!, v2Id, 'failed', 15_000);
  const takeoverMs = performance.now() - killedAt;
  assert.equal(failed.phase, 'failed');
  assert.match(failed.reason ?? '', /interrupted by a change of the instance running this app during starting/);
  const second = (await leaderOf(fleet))!;
  assert.ok(second !== undefined && second !== first, 'another instance runs the app');
  for (const i of fleet) assert.equal(await routedTo(i.proxyUrl), 'v1', 'live was not touched');

  // A deployment left waiting for its switch is resumed by the next leader and finished through it.
  const ready = await callApi<{ deployment: { id: string } }>(fleet[0]!.adminUrl, 'POST', '/api/apps/web/deployments', { version: 'v3', targets: [v3.url], switch: false });
  assert.equal(ready.status, 202, JSON.stringify(ready.body));
  assert.equal((await waitForDeployment(fleet[0]!, ready.body.deployment.id, 'ready')).phase, 'ready');
  second.child.kill('SIGKILL');
  fleet = fleet.filter((i) => i !== second);
  const last = fleet[0]!;
  await eventually(async () => (await leaderOf(fleet, last)) === last, 15_000, 'the last instance runs the app');
  const switched = await callApi(last.adminUrl, 'POST', '/api/apps/web/switch', {});
  assert.equal(switched.status, 200, JSON.stringify(switched.body));
  assert.equal((await waitForDeployment(last, ready.body.deployment.id)).phase, 'done');
  await untilAllRouteTo([last.proxyUrl], 'v3', performance.now());

  const history = (await callApi<(DeploymentView & { version: string })[]>(last.adminUrl, 'GET', '/api/apps/web/deployments')).body;
  const phases = history.map((d) => `${d.version} ${d.phase}`);
  assert.deepEqual(phases, ['v3 done', 'v2 failed', 'v1 done'], 'every deployment is in history, each ended once');
  assert.equal(failed.phases.filter((p) => p.phase === 'failed').length, 1);
  t.diagnostic(`takeover: the killed leader's deployment was failed by another instance ${Math.round(takeoverMs)} ms after the SIGKILL (lease 2s)`);
});

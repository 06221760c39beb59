// etcd trouble under three instances. etcd stopped: every instance keeps routing by the last table it applied, and
// control calls fail at once with STORE_UNAVAILABLE; etcd back (after the leases ran out): the instances rejoin,
// elect again and resync without a restart, and a switch reaches all three. A 3-member etcd cluster losing its
// leader member keeps everything working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callApi, deploy } from './support/cutover-harness.ts';
import { EtcdCluster, startEtcd } from './support/etcd.ts';
import { instances, routedTo, startFleet, untilAllRouteTo } from './support/fleet.ts';
import { countBy, runLoad } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';

// Longer than twice the 2 s lease, so that each instance's lease is given up and replaced after etcd returns.
const OUTAGE_MS = 5_000;

async function deployTwo(t: Parameters<typeof startUpstream>[0], admin: { adminUrl: string }): Promise<void> {
  const [v1, v2] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2')];
  assert.equal((await deploy(admin, 'v1', [v1.url])).phase, 'done');
  assert.equal((await deploy(admin, 'v2', [v2.url])).phase, 'done');
}

/**
 * Flips through `admin` until one is accepted; the ms it took. From v2 live (v1 standby) a rollback makes v1 live,
 * leaving v2 the candidate, which a switch makes live again.
 */
async function flipWhenPossible(admin: string, action: 'switch' | 'rollback', ms: number): Promise<{ took: number; refusals: Record<string, number> }> {
  const since = performance.now();
  const refusals: string[] = [];
  for (;;) {
    const res = await callApi<{ error?: { code: string } }>(admin, 'POST', `/api/apps/web/${action}`, {});
    if (res.status === 200) return { took: performance.now() - since, refusals: countBy(refusals, String) };
    refusals.push(res.body.error?.code ?? String(res.status));
    if (performance.now() - since > ms) throw new Error(`no switch accepted within ${ms} ms: ${JSON.stringify(countBy(refusals, String))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('etcd stopped: traffic goes on and control calls fail clearly; etcd back: control works again', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint] });
  await deployTwo(t, fleet[0]!);
  const proxies = fleet.map((i) => i.proxyUrl);
  await untilAllRouteTo(proxies, 'v2', performance.now());

  const load = Promise.all(proxies.map((url) => runLoad({ url, clients: 4, durationMs: OUTAGE_MS + 1_000 })));
  await new Promise((r) => setTimeout(r, 300));
  await etcd.stop();
  const stoppedAt = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  for (const instance of fleet) {
    const since = performance.now();
    const refused = await callApi<{ error: { code: string; message: string } }>(instance.adminUrl, 'POST', '/api/apps/web/rollback', {});
    const ms = performance.now() - since;
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'STORE_UNAVAILABLE');
    assert.match(refused.body.error.message, /etcd/);
    t.diagnostic(`during the outage, a rollback on an instance was refused with STORE_UNAVAILABLE in ${Math.round(ms)} ms`);
  }
  const status = await callApi<{ live: string }>(fleet[1]!.adminUrl, 'GET', '/api/apps/web');
  assert.equal(status.status, 200, 'status still answers');
  assert.equal(status.body.live, 'green');
  await new Promise((r) => setTimeout(r, OUTAGE_MS - (performance.now() - stoppedAt)));

  await etcd.start();
  const back = await flipWhenPossible(fleet[2]!.adminUrl, 'rollback', 15_000);
  t.diagnostic(`etcd back after ${OUTAGE_MS} ms down: the first rollback was accepted ${Math.round(back.took)} ms after it served again (refused meanwhile: ${JSON.stringify(back.refusals)})`);
  await untilAllRouteTo(proxies, 'v1', performance.now());
  // The leases held before the outage were given up; once etcd lets them run out, every instance is still listed,
  // under the lease it took after etcd came back, and one of them runs the app.
  await new Promise((r) => setTimeout(r, 2_500));
  for (const instance of fleet) {
    const listed = await instances(instance);
    assert.equal(listed.length, 3, 'every instance registered again');
    assert.equal(listed.filter((i) => i.leads.includes('web')).length, 1, 'one instance runs web');
  }

  const samples = (await load).flat();
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests through 3 instances across the etcd outage: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(outcomes), ['200'], 'no request failed while etcd was away');
});

test('a 3-member etcd cluster loses its leader member: switches and deployments go on under load', async (t) => {
  const cluster = await EtcdCluster.start({ size: 3, t });
  const fleet = await startFleet(t, { endpoints: cluster.endpoints });
  await deployTwo(t, fleet[0]!);
  const proxies = fleet.map((i) => i.proxyUrl);
  await untilAllRouteTo(proxies, 'v2', performance.now());

  const load = Promise.all(proxies.map((url) => runLoad({ url, clients: 4, durationMs: 4_000 })));
  await new Promise((r) => setTimeout(r, 300));
  await (await cluster.leader()).kill();
  let live = 'v2';
  for (let i = 0; i < 6; i++) {
    const { took } = await flipWhenPossible(fleet[i % 3]!.adminUrl, i % 2 === 0 ? 'rollback' : 'switch', 10_000);
    live = live === 'v2' ? 'v1' : 'v2';
    await untilAllRouteTo(proxies, live, performance.now());
    if (i === 0) t.diagnostic(`first flip after the etcd leader member was killed: accepted in ${Math.round(took)} ms`);
  }
  const v3 = await startUpstream(t, 'v3');
  assert.equal((await deploy(fleet[1]!, 'v3', [v3.url])).phase, 'done');
  for (const url of proxies) assert.equal(await routedTo(url), 'v3');

  const samples = (await load).flat();
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests through 3 instances while etcd lost a member: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(outcomes), ['200']);
});

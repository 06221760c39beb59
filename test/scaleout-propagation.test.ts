// Three `cutover serve` instances sharing one etcd: a switch made through one reaches every instance's data path
// within milliseconds, each instance reports the generation it applied, and 20 switches under load through all
// three fail no request. The last test runs two instances with two data-path workers each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { callApi, deploy, eventually, runCli } from './support/cutover-harness.ts';
import { startEtcd } from './support/etcd.ts';
import { instances, leaderOf, percentile, routedOnNewConnections, routedTo, startFleet, untilAllRouteTo } from './support/fleet.ts';
import { countBy, runLoad } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';

const SWITCHES = 50;
const SWITCHES_UNDER_LOAD = 20;

/** The i-th flip from v2 live: rollback to v1, switch to v2 (the candidate the rollback left), and so on. */
const flip = (i: number): 'rollback' | 'switch' => (i % 2 === 0 ? 'rollback' : 'switch');

test('three instances: every switch reaches all three; status lists each with its generation', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint] });
  const [v1, v2] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2')];
  assert.equal((await deploy(fleet[1]!, 'v1', [v1.url])).phase, 'done', 'deployed through any instance');
  assert.equal((await deploy(fleet[2]!, 'v2', [v2.url])).phase, 'done');
  const proxies = fleet.map((i) => i.proxyUrl);
  await untilAllRouteTo(proxies, 'v2', performance.now());

  const leader = (await leaderOf(fleet))!;
  const times: number[] = [];
  let live = 'v2';
  for (let i = 0; i < SWITCHES; i++) {
    const next = live === 'v2' ? 'v1' : 'v2';
    const since = performance.now();
    // From v2 live: a rollback makes v1 live and leaves v2 the candidate, which a switch makes live again.
    const switched = callApi(leader.adminUrl, 'POST', `/api/apps/web/${flip(i)}`, {});
    times.push(await untilAllRouteTo(proxies, next, since));
    assert.equal((await switched).status, 200);
    live = next;
  }
  t.diagnostic(`propagation over ${SWITCHES} switches, from the switch call to all 3 instances routing to the new env: ` +
    `p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);

  const record = (await callApi<{ generation: number }>(leader.adminUrl, 'GET', '/api/apps/web')).body;
  const listed = await instances(fleet[0]!);
  assert.equal(listed.length, 3);
  for (const instance of listed) {
    assert.equal(instance.apps.web?.generation, record.generation, `${instance.id} applied the latest generation`);
  }
  assert.deepEqual(listed.map((i) => i.leads.length).sort(), [0, 0, 1], 'one instance runs web');
  const status = await runCli(['--admin', fleet[2]!.adminUrl, 'status']);
  assert.equal(status.code, 0, status.stderr);
  for (const instance of listed) assert.match(status.stdout, new RegExp(`${instance.id}.*gen ${record.generation}`));
});

test('20 switches through all three instances under load through all three: no request fails', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint] });
  const [v1, v2] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2')];
  await deploy(fleet[0]!, 'v1', [v1.url]);
  await deploy(fleet[0]!, 'v2', [v2.url]);
  await untilAllRouteTo(fleet.map((i) => i.proxyUrl), 'v2', performance.now());

  const load = Promise.all(fleet.map((i) => runLoad({ url: i.proxyUrl, clients: 6, durationMs: 5_000 })));
  const statuses: number[] = [];
  for (let i = 0; i < SWITCHES_UNDER_LOAD; i++) {
    await new Promise((r) => setTimeout(r, 150));
    // Through each instance in turn: two of three calls are forwarded to the one that runs the app.
    statuses.push((await callApi(fleet[i % 3]!.adminUrl, 'POST', `/api/apps/web/${flip(i)}`, {})).status);
  }
  const samples = (await load).flat();
  assert.deepEqual(countBy(statuses, String), { 200: SWITCHES_UNDER_LOAD });
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests through 3 instances during ${SWITCHES_UNDER_LOAD} switches: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(outcomes), ['200'], 'every request answered 200');
  assert.deepEqual(Object.keys(countBy(samples, (s) => s.body)).sort(), ['v1', 'v2']);
  // Routing after the last switch (an even count from v2 ends on v2) agrees everywhere.
  for (const i of fleet) assert.equal(await routedTo(i.proxyUrl), 'v2');
});

test('two instances with two data-path workers each: every worker of both follows each switch, under load, with no failed request', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint], size: 2, workers: 2 });
  const [v1, v2] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2')];
  await deploy(fleet[0]!, 'v1', [v1.url]);
  await deploy(fleet[1]!, 'v2', [v2.url]);
  const proxies = fleet.map((i) => i.proxyUrl);
  await untilAllRouteTo(proxies, 'v2', performance.now());

  // The load lasts until the last switch was checked (bounded at 30 s), however slow the machine.
  const switched = new AbortController();
  t.after(() => switched.abort());
  const load = Promise.all(fleet.map((i) => runLoad({ url: i.proxyUrl, clients: 4, durationMs: 30_000, stop: switched.signal })));
  let live = 'v2';
  for (let i = 0; i < 6; i++) {
    const next = live === 'v2' ? 'v1' : 'v2';
    const since = performance.now();
    assert.equal((await callApi(fleet[i % 2]!.adminUrl, 'POST', `/api/apps/web/${flip(i)}`, {})).status, 200);
    await untilAllRouteTo(proxies, next, since);
    // New connections go to an instance's workers in turn (node:cluster's default, round robin): six in a row
    // answered by the new version means every worker routes by the new table (one that never applied it would
    // answer one of them).
    for (const proxy of proxies) {
      await eventually(async () => (await routedOnNewConnections(proxy, 6)).every((v) => v === next), 2_000, `every worker of ${proxy} on ${next} after switch ${i + 1}`);
    }
    live = next;
  }
  switched.abort();
  const samples = (await load).flat();
  const outcomes = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  t.diagnostic(`${samples.length} requests through 2 instances × 2 workers during 6 switches: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(Object.keys(outcomes), ['200'], 'every request answered 200');
  assert.deepEqual(Object.keys(countBy(samples, (s) => s.body)).sort(), ['v1', 'v2'], 'the load saw both versions');

  const record = (await callApi<{ generation: number }>(fleet[0]!.adminUrl, 'GET', '/api/apps/web')).body;
  const listed = await instances(fleet[1]!);
  assert.equal(listed.length, 2);
  for (const instance of listed) {
    assert.equal(instance.apps.web?.generation, record.generation, `${instance.id} reports the generation its workers applied`);
  }
});

test('a pause holds requests on every instance, not only the one that runs the app; its resume releases them all', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint], size: 2 });
  await deploy(fleet[0]!, 'v1', [(await startUpstream(t, 'v1')).url]);
  await untilAllRouteTo(fleet.map((i) => i.proxyUrl), 'v1', performance.now());
  const leader = (await leaderOf(fleet))!;
  const follower = fleet.find((i) => i !== leader)!;
  // Asked of the instance that does not run the app: it forwards the call, and the stored pause comes back to it.
  assert.equal((await callApi(follower.adminUrl, 'POST', '/api/apps/web/pause', { maxMs: 60_000 })).status, 200);
  await eventually(async () => (await callApi<{ paused: unknown }>(follower.adminUrl, 'GET', '/api/apps/web')).body.paused !== null, 5_000, 'the follower to hold the pause too');
  const answered: string[] = [];
  const held = fleet.map((i) => request(i.proxyUrl).then(async (r) => {
    const body = await r.body.text();
    answered.push(body);
    return body;
  }));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(answered, [], 'held on both instances');
  assert.equal((await callApi(leader.adminUrl, 'POST', '/api/apps/web/resume', {})).status, 200);
  assert.deepEqual(await Promise.all(held), ['v1', 'v1']);
});

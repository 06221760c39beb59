// A switch to a version just deployed: its environment has never carried traffic, so without help the first
// requests after the flip would each wait for a connection to open. The data path opens some while the environment
// is the standby (as the deployment's route tables come) and the rest as it applies the flipped route table, and the
// first request goes over one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, spawnServe, startCutover, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { startEtcd } from './support/etcd.ts';
import { leaderOf, startFleet } from './support/fleet.ts';
import { startUpstream, type Upstream } from './support/upstream.ts';

/** The connections an upstream accepted, each with the paths requested over it. */
function connectionsOf(upstream: Upstream): Map<Socket, string[]> {
  const seen = new Map<Socket, string[]>();
  upstream.server.on('connection', (socket: Socket) => seen.set(socket, []));
  upstream.server.on('request', (req) => seen.get(req.socket)?.push(req.url ?? ''));
  return seen;
}

/** Connections that have carried no request (health probes have): opened ahead of traffic. */
function unused(seen: Map<Socket, string[]>): Socket[] {
  return [...seen].filter(([socket, paths]) => paths.length === 0 && !socket.destroyed).map(([socket]) => socket);
}

test('a new deployment that is ready has a connection open before the switch; the first request after it goes over it', async (t) => {
  const run = await startCutover(t);
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(run, 'v1', [blue.url]);
  const seen = connectionsOf(green);
  assert.equal((await deploy(run, 'v2', [green.url], 'ready', { switch: false })).phase, 'ready');
  // The standby environment is warmed as the deployment's route tables come (DataPath.warmStandby).
  await eventually(() => unused(seen).length === 1, 2_000, 'one connection opened ahead of the switch');
  const [spare] = unused(seen);

  assert.equal((await run.api('POST', '/api/apps/web/switch', {})).status, 200);
  const res = await request(run.proxyUrl);
  assert.equal(await res.body.text(), 'green');
  assert.deepEqual(seen.get(spare!), ['/'], 'the first request went over the connection opened ahead');
  assert.equal([...seen.values()].filter((paths) => paths.includes('/')).length, 1, 'and opened none of its own');
});

test('with data-path workers, each opens its connections to the new environment as it applies the switch', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP, 'workers: 2'));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(serve, 'v1', [blue.url]);
  const seen = connectionsOf(green);
  await deploy(serve, 'v2', [green.url], 'ready', { switch: false });
  assert.equal((await callApi(serve.adminUrl, 'POST', '/api/apps/web/switch', {})).status, 200);
  // The primary serves no traffic, so it opens none: one per worker.
  await eventually(() => unused(seen).length === 2, 2_000, 'one connection per worker opened ahead of traffic');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(unused(seen).length, 2, 'and no more');
});

test('instances sharing a store each open theirs: the one that did not make the switch too', async (t) => {
  const etcd = await startEtcd(t);
  const fleet = await startFleet(t, { endpoints: [etcd.endpoint], size: 2 });
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(fleet[0]!, 'v1', [blue.url]);
  const seen = connectionsOf(green);
  await deploy(fleet[0]!, 'v2', [green.url], 'ready', { switch: false });
  const leader = (await leaderOf(fleet))!;
  assert.equal((await callApi(leader.adminUrl, 'POST', '/api/apps/web/switch', {})).status, 200);
  await eventually(() => unused(seen).length === 2, 5_000, 'one connection per instance opened ahead of traffic');
  const spares = unused(seen);
  const follower = fleet.find((i) => i !== leader)!;
  const res = await request(follower.proxyUrl);
  assert.equal(await res.body.text(), 'green');
  assert.ok(spares.some((s) => seen.get(s)!.includes('/')), 'the follower\'s first request went over one of them');
  assert.equal(unused(seen).length, 1, 'and opened none of its own');
});

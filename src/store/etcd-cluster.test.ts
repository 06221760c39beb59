import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newAppRecord, type AppRecord } from '../core/types.ts';
import { EtcdCluster, type EtcdMember } from '../../test/support/etcd.ts';
import { EtcdStore } from './etcd-store.ts';
import { sampleAudit, sampleDeployment } from './fixtures/records.ts';

const ROUNDS = 15;

test('a store over a 3-member etcd cluster keeps working when one member stops, even the leader', async (t) => {
  const cluster = await EtcdCluster.start({ size: 3, t });
  const store = await EtcdStore.open({
    endpoints: cluster.endpoints, prefix: '/cutover', username: null, password: null, tls: null, timeoutMs: 2_000, leaseMs: 5_000,
  });
  t.after(() => store.close());
  const seen: AppRecord[] = [];
  await store.watchApps((app) => seen.push(app));
  let app = await store.putApp(newAppRecord('web', 1_000), 0);

  const stopped: EtcdMember[] = [];
  for (const pick of [() => cluster.leader(), () => follower(cluster, stopped)]) {
    const member = await pick();
    stopped.push(member);
    await member.stop();
    const started = Date.now();
    // Every call must succeed: the client moves to the members left, and waits out a new election if the leader went.
    for (let i = 0; i < ROUNDS; i++) {
      app = await store.putApp({ ...app, generation: app.generation + 1 }, app.revision);
      assert.deepEqual(await store.getApp('web'), app);
      await store.putDeployment(sampleDeployment({ id: `${member.name}-${i}` }));
      await store.putAudit(sampleAudit({ detail: `${member.name}-${i}` }));
    }
    t.diagnostic(`${ROUNDS} rounds with ${member.name} stopped took ${Date.now() - started} ms`);
    assert.equal((await store.listDeployments('web', 100)).filter((d) => d.id.startsWith(member.name)).length, ROUNDS);
    await member.start();
  }
  await waitFor(() => seen.at(-1)?.revision === app.revision);
  assert.equal(seen.length, 1 + 2 * ROUNDS, 'the watch saw every write');
});

/** A member that does not lead and has not been stopped before. */
async function follower(cluster: EtcdCluster, stopped: readonly EtcdMember[]): Promise<EtcdMember> {
  const leader = await cluster.leader();
  return cluster.members.find((m) => m !== leader && !stopped.includes(m))!;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import type { EtcdSettings } from '../config/state-schema.ts';
import { StoreUnavailableError } from '../core/errors.ts';
import { newAppRecord, type AppRecord } from '../core/types.ts';
import { EtcdCluster } from '../../test/support/etcd.ts';
import { ETCD_HALF_OPEN_AFTER_MS } from './etcd-connection.ts';
import { EtcdStore } from './etcd-store.ts';
import { reopenableStore, stateStoreContract } from './state-store.contract.ts';
import { sampleAudit, sampleDeployment } from './fixtures/records.ts';

// One etcd for the file; each store gets a prefix of its own, so the tests cannot see each other's keys.
let etcd: EtcdCluster;
before(async () => {
  etcd = await EtcdCluster.start();
});
after(() => etcd?.cleanup());

function settings(overrides: Partial<EtcdSettings> = {}): EtcdSettings {
  return {
    endpoints: etcd.endpoints,
    prefix: `/cutover-test/${randomUUID()}`,
    username: null,
    password: null,
    tls: null,
    timeoutMs: 2_000,
    leaseMs: 5_000,
    ...overrides,
  };
}

async function openIn(t: TestContext, overrides: Partial<EtcdSettings> = {}): Promise<EtcdStore> {
  const store = await EtcdStore.open(settings(overrides));
  t.after(() => store.close());
  return store;
}

stateStoreContract('EtcdStore', async () => {
  const config = settings();
  return reopenableStore(() => EtcdStore.open(config));
});

describe('EtcdStore', () => {
  test('an app\'s revision is its key\'s mod_revision in etcd', async (t) => {
    const config = settings();
    const store = await openIn(t, config);
    const stored = await store.putApp(newAppRecord('web', 1_000), 0);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    t.after(() => raw.close());
    const [kv] = (await raw.get(`${config.prefix}/apps/web`).exec()).kvs;
    assert.equal(Number(kv!.mod_revision), stored.revision);
    assert.equal(JSON.parse(kv!.value.toString()).revision, undefined, 'the revision is not copied into the value');
  });

  test('stores under different prefixes do not see each other', async (t) => {
    const a = await openIn(t);
    const b = await openIn(t);
    await a.putApp(newAppRecord('web', 1_000), 0);
    await a.putAudit(sampleAudit());
    assert.deepEqual(await b.listApps(), []);
    assert.deepEqual(await b.listAudit({ limit: 10 }), []);
  });

  test('deployments created in the same millisecond list in insertion order, newest first', async (t) => {
    const store = await openIn(t);
    for (const id of ['a', 'b', 'c']) await store.putDeployment(sampleDeployment({ id, createdAt: 1_000 }));
    await store.putDeployment(sampleDeployment({ id: 'a', createdAt: 1_000, phase: 'done' }));
    assert.deepEqual((await store.listDeployments('web', 10)).map((d) => d.id), ['c', 'b', 'a']);
  });

  test('a limit that cuts into one millisecond keeps the order the entries were put in', async (t) => {
    const store = await openIn(t);
    for (const detail of ['a', 'b', 'c', 'd', 'e', 'f']) await store.putAudit(sampleAudit({ detail, at: 1_000 }));
    for (const detail of ['x', 'y']) await store.putAudit(sampleAudit({ detail, at: 2_000 }));
    for (const id of ['d-a', 'd-b', 'd-c', 'd-d']) await store.putDeployment(sampleDeployment({ id, createdAt: 1_000 }));
    await store.putDeployment(sampleDeployment({ id: 'd-z', createdAt: 2_000 }));
    assert.deepEqual((await store.listAudit({ limit: 5 })).map((e) => e.detail), ['y', 'x', 'f', 'e', 'd']);
    assert.deepEqual((await store.listAudit({ limit: 3, app: 'web' })).map((e) => e.detail), ['y', 'x', 'f']);
    assert.deepEqual((await store.listDeployments('web', 3)).map((d) => d.id), ['d-z', 'd-d', 'd-c']);
  });

  test('a deployment moved to another app is listed there only', async (t) => {
    const store = await openIn(t);
    await store.putDeployment(sampleDeployment({ id: 'd-1', app: 'web' }));
    await store.putDeployment(sampleDeployment({ id: 'd-1', app: 'api', createdAt: 2_000 }));
    assert.deepEqual(await store.listDeployments('web', 10), []);
    assert.deepEqual((await store.listDeployments('api', 10)).map((d) => d.id), ['d-1']);
  });

  test('names and ids with slashes keep to their own keys', async (t) => {
    const store = await openIn(t);
    await store.putApp(newAppRecord('a/b', 1_000), 0);
    await store.putDeployment(sampleDeployment({ id: 'x/y', app: 'a/b' }));
    assert.deepEqual((await store.listApps()).map((a) => a.name), ['a/b']);
    assert.equal((await store.getDeployment('x/y'))?.app, 'a/b');
    assert.deepEqual(await store.listDeployments('a', 10), []);
  });

  test('concurrent audit entries and deployments all land, each once', async (t) => {
    const store = await openIn(t);
    const writes = Array.from({ length: 20 }, (_, i) => [
      store.putAudit(sampleAudit({ detail: `e${i}`, at: 1_000 })),
      store.putDeployment(sampleDeployment({ id: `d-${i}`, createdAt: 1_000 })),
    ]).flat();
    await Promise.all(writes);
    const audit = await store.listAudit({ limit: 100 });
    assert.equal(new Set(audit.map((e) => e.detail)).size, 20);
    assert.equal(audit.length, 20);
    assert.equal((await store.listDeployments('web', 100)).length, 20);
  });

  // putApp reads the deployment's key before its transaction: when only that key moved meanwhile (the deployment
  // stored again on its own), the app write is still the caller's to make, and is tried again instead of refused.
  test('an app written with its deployment while the deployment alone is written again: no conflict, both land', async (t) => {
    const store = await openIn(t);
    let app = await store.putApp(newAppRecord('web', 1_000), 0);
    for (let round = 0; round < 10; round++) {
      const deployment = sampleDeployment({ id: `d-${round}`, phase: 'watching' });
      await store.putDeployment(deployment);
      const alone = Array.from({ length: 10 }, (_, i) => store.putDeployment({ ...deployment, reason: `alone ${i}` }));
      const [stored] = await Promise.all([store.putApp({ ...app, generation: round + 1 }, app.revision, { deployment: { ...deployment, phase: 'done' } }), ...alone]);
      assert.equal(stored.generation, round + 1);
      app = stored;
    }
    assert.equal((await store.getApp('web'))?.generation, 10);
    assert.equal((await store.getDeployment('d-9'))?.id, 'd-9');
  });

  test('a limit of 0 lists nothing, and an infinite limit lists everything', async (t) => {
    const store = await openIn(t);
    for (const detail of ['a', 'b', 'c']) await store.putAudit(sampleAudit({ detail }));
    await store.putDeployment(sampleDeployment());
    assert.deepEqual(await store.listAudit({ limit: 0 }), []);
    assert.deepEqual(await store.listDeployments('web', 0), []);
    assert.equal((await store.listAudit({ limit: Infinity })).length, 3);
  });

  test('watchApps delivers each written app with its revision until stopped', async (t) => {
    const store = await openIn(t);
    const seen: AppRecord[] = [];
    const stop = await store.watchApps((app) => seen.push(app));
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    const second = await store.putApp({ ...first, live: 'blue', generation: 1 }, first.revision);
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, [first, second]);
    await stop();
    await store.putApp({ ...second, generation: 2 }, second.revision);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.length, 2, 'no change is delivered after stop');
  });

  test('a watch from another store sees the writes of this one', async (t) => {
    const config = settings();
    const writer = await openIn(t, config);
    const watcher = await openIn(t, config);
    const seen: AppRecord[] = [];
    await watcher.watchApps((app) => seen.push(app));
    const stored = await writer.putApp(newAppRecord('web', 1_000), 0);
    await waitFor(() => seen.length === 1);
    assert.deepEqual(seen, [stored]);
  });

  test('close stops the watches and is idempotent; calls after it give STORE_UNAVAILABLE', async (t) => {
    const store = await EtcdStore.open(settings());
    await store.watchApps(() => {});
    await store.close();
    await store.close();
    await assertUnavailable(store.getApp('web'), ['closed']);
    await assertUnavailable(store.watchApps(() => {}), ['closed']);
  });

  test('open against an etcd that is not there gives STORE_UNAVAILABLE naming it, within the timeout', async () => {
    const dead = 'http://127.0.0.1:1';
    const started = Date.now();
    await assertUnavailable(EtcdStore.open(settings({ endpoints: [dead], timeoutMs: 500 })), [`cannot reach the etcd store at ${dead}`]);
    assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
  });
});

// Stops the file's etcd, so it runs after everything else that uses it and restarts it at the end.
describe('EtcdStore while etcd is down', () => {
  test('calls fail fast with STORE_UNAVAILABLE, and work again once etcd is back, without a reopen', async (t) => {
    const store = await openIn(t, { timeoutMs: 1_000 });
    const seen: AppRecord[] = [];
    await store.watchApps((app) => seen.push(app));
    const before = await store.putApp(newAppRecord('web', 1_000), 0);
    await etcd.stop();
    let slowest = 0;
    for (const call of [() => store.getApp('web'), () => store.putApp(before, before.revision), () => store.putAudit(sampleAudit())]) {
      const started = Date.now();
      await assertUnavailable(call(), [`in the etcd store at ${etcd.endpoint}`]);
      slowest = Math.max(slowest, Date.now() - started);
    }
    assert.ok(slowest <= 1_200, `a call took ${slowest} ms to fail`);
    await etcd.start();
    const back = Date.now();
    const app = await eventually(() => store.getApp('web'));
    const recovery = Date.now() - back;
    assert.deepEqual(app, before);
    assert.ok(recovery <= ETCD_HALF_OPEN_AFTER_MS + 1_500, `the store took ${recovery} ms to serve again`);
    const after = await store.putApp({ ...before, generation: 1 }, before.revision);
    await waitFor(() => seen.some((a) => a.revision === after.revision), 5_000);
    t.diagnostic(`calls failed within ${slowest} ms; served again ${recovery} ms after etcd was healthy; the watch caught up`);
  });
});

describe('EtcdStore while etcd hangs', () => {
  test('a call to an etcd that answers nothing fails with STORE_UNAVAILABLE at the timeout', async (t) => {
    const store = await openIn(t, { timeoutMs: 500 });
    await store.putApp(newAppRecord('web', 1_000), 0);
    const member = etcd.members[0]!;
    await member.pause();
    t.after(() => member.resume());
    const started = Date.now();
    await assertUnavailable(store.getApp('web'), [`cannot read app "web" in the etcd store at ${etcd.endpoint}`]);
    const took = Date.now() - started;
    member.resume();
    assert.ok(took >= 450 && took < 1_000, `failed after ${took} ms`);
    assert.equal((await eventually(() => store.getApp('web')))?.name, 'web');
    t.diagnostic(`failed after ${took} ms against a timeout of 500 ms`);
  });
});

async function assertUnavailable(work: Promise<unknown>, phrases: string[]): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError, `expected a StoreUnavailableError, got ${err}`);
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.equal(err.status, 503);
    for (const phrase of phrases) assert.ok(err.message.includes(phrase), `"${err.message}" lacks "${phrase}"`);
    return true;
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The result of `call` once it stops failing with STORE_UNAVAILABLE. */
async function eventually<T>(call: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

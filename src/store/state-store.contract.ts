// The suite every StateStore implementation must pass (SQLite now, etcd later). Each implementation's test file
// calls stateStoreContract with a factory that opens a fresh, empty store.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RevisionConflictError } from '../core/errors.ts';
import { TERMINAL_PHASES, newAppRecord, type AppRecord, type DeploymentRecord } from '../core/types.ts';
import type { AuditRecord } from './audit-record.ts';
import type { StateStore } from './state-store.ts';
import { sampleAudit, sampleDeployment } from './fixtures/records.ts';

export interface StoreUnderTest {
  /** A fresh, empty store. */
  store: StateStore;
  /** Opens the same data again (after `store` was closed). */
  reopen: () => Promise<StateStore>;
  /** Closes every store this fixture opened and removes its data. */
  cleanup: () => Promise<void>;
}

/** The usual fixture: `open` gives the store and each reopened one; `removeData` runs once they are all closed. */
export async function reopenableStore(
  open: () => Promise<StateStore>,
  removeData: () => void | Promise<void> = () => {},
): Promise<StoreUnderTest> {
  const opened: StateStore[] = [await open()];
  return {
    store: opened[0]!,
    reopen: async () => {
      const store = await open();
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      for (const store of opened) await store.close();
      await removeData();
    },
  };
}

export function stateStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`StateStore contract: ${name}`, () => {
    describe('apps', () => appTests(open));
    describe('compare-and-swap', () => compareAndSwapTests(open));
    describe('deployments', () => deploymentTests(open));
    describe('audit trail', () => auditTests(open));
    describe('durability and copies', () => durabilityTests(open));
  });
}

type Open = () => Promise<StoreUnderTest>;

/** Opens a fresh store and registers its cleanup before the test can fail. */
async function fresh(t: TestContext, open: Open): Promise<StoreUnderTest> {
  const fixture = await open();
  t.after(fixture.cleanup);
  return fixture;
}

function appTests(open: Open): void {
  test('getApp returns null and listApps is empty in a new store', async (t) => {
    const { store } = await fresh(t, open);
    assert.equal(await store.getApp('web'), null);
    assert.deepEqual(await store.listApps(), []);
  });

  test('putApp with revision 0 creates the app and returns it as stored', async (t) => {
    const { store } = await fresh(t, open);
    const stored = await store.putApp(newAppRecord('web', 1_000), 0);
    assert.ok(stored.revision > 0, `revision ${stored.revision} should be positive`);
    assert.deepEqual(stored, { ...newAppRecord('web', 1_000), revision: stored.revision });
    assert.deepEqual(await store.getApp('web'), stored);
  });

  test('listApps returns every app in name order', async (t) => {
    const { store } = await fresh(t, open);
    for (const name of ['web', 'admin', 'api']) await store.putApp(newAppRecord(name, 1_000), 0);
    assert.deepEqual(
      (await store.listApps()).map((app) => app.name),
      ['admin', 'api', 'web'],
    );
  });

  test('deleteApp removes the app and ignores an unknown one', async (t) => {
    const { store } = await fresh(t, open);
    await store.putApp(newAppRecord('web', 1_000), 0);
    await store.putApp(newAppRecord('api', 1_000), 0);
    await store.deleteApp('web');
    await store.deleteApp('never-stored');
    assert.equal(await store.getApp('web'), null);
    assert.deepEqual((await store.listApps()).map((app) => app.name), ['api']);
  });

  test('a deleted app can be created again with revision 0', async (t) => {
    const { store } = await fresh(t, open);
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    await store.putApp({ ...first, generation: 7 }, first.revision);
    await store.deleteApp('web');
    const again = await store.putApp(newAppRecord('web', 2_000), 0);
    assert.equal(again.generation, 0);
    assert.deepEqual(await store.getApp('web'), again);
  });
}

function compareAndSwapTests(open: Open): void {
  test('putApp with the current revision replaces the app and moves the revision on', async (t) => {
    const { store } = await fresh(t, open);
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    const second = await store.putApp({ ...first, live: 'blue', generation: 1 }, first.revision);
    assert.ok(second.revision > first.revision, 'the revision should grow');
    assert.equal(second.live, 'blue');
    assert.deepEqual(await store.getApp('web'), second);
    const third = await store.putApp({ ...second, generation: 2 }, second.revision);
    assert.ok(third.revision > second.revision, 'the revision should grow again');
  });

  test('putApp with a stale revision throws RevisionConflictError and changes nothing', async (t) => {
    const { store } = await fresh(t, open);
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    const second = await store.putApp({ ...first, generation: 1 }, first.revision);
    await assertConflict(store.putApp({ ...first, generation: 99 }, first.revision));
    assert.deepEqual(await store.getApp('web'), second);
  });

  test('putApp with revision 0 for an existing app is a conflict', async (t) => {
    const { store } = await fresh(t, open);
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    await assertConflict(store.putApp({ ...newAppRecord('web', 2_000), generation: 5 }, 0));
    assert.deepEqual(await store.getApp('web'), first);
  });

  test('putApp with a revision for an app that does not exist is a conflict', async (t) => {
    const { store } = await fresh(t, open);
    await assertConflict(store.putApp(newAppRecord('web', 1_000), 3));
    assert.equal(await store.getApp('web'), null);
  });

  test('putApp tells onCommitted the stored record, readable already, before it resolves with it', async (t) => {
    const { store } = await fresh(t, open);
    const base = await store.putApp(newAppRecord('web', 1_000), 0);
    const seen: { committed: AppRecord; read: Promise<AppRecord | null> }[] = [];
    const stored = await store.putApp({ ...base, live: 'blue' }, base.revision, { onCommitted: (committed) => seen.push({ committed, read: store.getApp('web') }) });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.committed, stored);
    assert.deepEqual(await seen[0]!.read, stored);
    await assertConflict(store.putApp({ ...base, live: 'green' }, base.revision, { onCommitted: () => assert.fail('a refused write is not committed') }));
  });

  test('putApp with a deployment stores both in one commit, and neither when the app conflicts', async (t) => {
    const { store } = await fresh(t, open);
    const base = await store.putApp(newAppRecord('web', 1_000), 0);
    const running = sampleDeployment({ phase: 'watching' });
    await store.putDeployment(running);
    const rolledBack = advance(running, 'rolled-back', 2_000);
    let readAtCommit: Promise<DeploymentRecord | null> | null = null;
    const stored = await store.putApp({ ...base, live: 'blue' }, base.revision, {
      deployment: rolledBack,
      onCommitted: () => (readAtCommit = store.getDeployment(running.id)),
    });
    assert.deepEqual(await readAtCommit, rolledBack, 'stored by the commit that stored the app');
    assert.deepEqual(await store.getDeployment(running.id), rolledBack);
    assert.deepEqual((await store.listOpenDeployments()).map((d) => d.id), [], 'no longer open');
    assert.deepEqual(await store.getApp('web'), stored);
    await assertConflict(store.putApp({ ...base, live: 'green' }, base.revision, { deployment: { ...rolledBack, reason: 'never stored' } }));
    assert.deepEqual(await store.getDeployment(running.id), rolledBack, 'the deployment of a refused write is not stored');
    const another = sampleDeployment({ id: 'd-2', createdAt: 3_000 });
    await store.putApp({ ...stored, generation: 9 }, stored.revision, { deployment: another });
    assert.deepEqual((await store.listDeployments('web', 5)).map((d) => d.id), ['d-2', running.id], 'a new one is listed too');
  });

  test('of two concurrent putApp with the same revision exactly one wins', async (t) => {
    const { store } = await fresh(t, open);
    const base = await store.putApp(newAppRecord('web', 1_000), 0);
    const results = await Promise.allSettled([
      store.putApp({ ...base, live: 'blue' }, base.revision),
      store.putApp({ ...base, live: 'green' }, base.revision),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one write should win');
    assert.ok(lost[0]!.reason instanceof RevisionConflictError, `the loser got ${lost[0]!.reason}`);
    assert.deepEqual(await store.getApp('web'), won[0]!.value);
  });
}

function deploymentTests(open: Open): void {
  test('putDeployment inserts and getDeployment returns it; an unknown id is null', async (t) => {
    const { store } = await fresh(t, open);
    const deployment = sampleDeployment({ metrics: { requests: 1200, errorRate: 0.002, p99Ms: 180.5 } });
    await store.putDeployment(deployment);
    assert.deepEqual(await store.getDeployment('d-1'), deployment);
    assert.equal(await store.getDeployment('d-unknown'), null);
  });

  test('putDeployment with a known id replaces the stored record', async (t) => {
    const { store } = await fresh(t, open);
    await store.putDeployment(sampleDeployment());
    const later = advance(sampleDeployment(), 'health-gate', 2_000);
    await store.putDeployment(later);
    assert.deepEqual(await store.getDeployment('d-1'), later);
    assert.deepEqual(await store.listDeployments('web', 10), [later]);
  });

  test('listDeployments returns one app\'s deployments newest first, up to the limit', async (t) => {
    const { store } = await fresh(t, open);
    // Inserted out of order, so the store must sort by createdAt rather than by insertion.
    for (const [id, createdAt] of [['d-2', 2_000], ['d-1', 1_000], ['d-4', 4_000], ['d-3', 3_000]] as const) {
      await store.putDeployment(sampleDeployment({ id, createdAt }));
    }
    await store.putDeployment(sampleDeployment({ id: 'api-1', app: 'api', createdAt: 5_000 }));
    assert.deepEqual(ids(await store.listDeployments('web', 10)), ['d-4', 'd-3', 'd-2', 'd-1']);
    assert.deepEqual(ids(await store.listDeployments('web', 2)), ['d-4', 'd-3']);
    assert.deepEqual(ids(await store.listDeployments('api', 10)), ['api-1']);
    assert.deepEqual(await store.listDeployments('nobody', 10), []);
  });

  test('listOpenDeployments returns the deployments of every app not in a terminal phase', async (t) => {
    const { store } = await fresh(t, open);
    await store.putDeployment(sampleDeployment({ id: 'web-open', phase: 'watching' }));
    await store.putDeployment(sampleDeployment({ id: 'api-open', app: 'api', phase: 'ready' }));
    for (const phase of TERMINAL_PHASES) {
      await store.putDeployment(sampleDeployment({ id: `web-${phase}`, phase }));
    }
    assert.deepEqual(ids(await store.listOpenDeployments()).sort(), ['api-open', 'web-open']);
    await store.putDeployment(advance(sampleDeployment({ id: 'web-open', phase: 'watching' }), 'done', 9_000));
    assert.deepEqual(ids(await store.listOpenDeployments()), ['api-open']);
  });
}

function auditTests(open: Open): void {
  test('listAudit is empty in a new store', async (t) => {
    const { store } = await fresh(t, open);
    assert.deepEqual(await store.listAudit({ limit: 10 }), []);
  });

  test('listAudit returns entries newest first, up to the limit, of one app or of all', async (t) => {
    const { store } = await fresh(t, open);
    // Put out of order, so the store must sort by time rather than by insertion.
    for (const [detail, at, app] of [['b', 2_000, 'web'], ['a', 1_000, 'web'], ['r', 3_000, null], ['c', 4_000, 'api']] as const) {
      await store.putAudit(sampleAudit({ detail, at, app }));
    }
    assert.deepEqual(details(await store.listAudit({ limit: 10 })), ['c', 'r', 'b', 'a']);
    assert.deepEqual(details(await store.listAudit({ limit: 2 })), ['c', 'r']);
    assert.deepEqual(details(await store.listAudit({ limit: 10, app: 'web' })), ['b', 'a']);
    assert.deepEqual(await store.listAudit({ limit: 10, app: 'nobody' }), []);
    assert.deepEqual((await store.listAudit({ limit: 1, app: 'api' }))[0], sampleAudit({ detail: 'c', at: 4_000, app: 'api' }));
  });

  test('entries of the same millisecond list in the order they were put, newest first', async (t) => {
    const { store } = await fresh(t, open);
    for (const detail of ['first', 'second', 'third']) await store.putAudit(sampleAudit({ detail, at: 1_000 }));
    assert.deepEqual(details(await store.listAudit({ limit: 10 })), ['third', 'second', 'first']);
  });

  test('the audit trail survives close and reopen, and a returned entry is a copy', async (t) => {
    const { store, reopen } = await fresh(t, open);
    await store.putAudit(sampleAudit({ outcome: 'FORBIDDEN', detail: 'read-only token' }));
    await store.close();
    const again = await reopen();
    const [entry] = await again.listAudit({ limit: 10 });
    assert.deepEqual(entry, sampleAudit({ outcome: 'FORBIDDEN', detail: 'read-only token' }));
    Object.assign(entry!, { who: 'mallory' });
    assert.equal((await again.listAudit({ limit: 1 }))[0]!.who, sampleAudit().who);
  });
}

function details(entries: readonly AuditRecord[]): string[] {
  return entries.map((e) => e.detail);
}

function durabilityTests(open: Open): void {
  test('apps and deployments survive close and reopen', async (t) => {
    const { store, reopen } = await fresh(t, open);
    const app = await store.putApp({ ...newAppRecord('web', 1_000), live: 'blue', generation: 3 }, 0);
    const deployment = sampleDeployment({ phase: 'failed', reason: 'health gate timed out', finishedAt: 5_000 });
    await store.putDeployment(deployment);
    await store.close();
    await store.close(); // close is idempotent
    const again = await reopen();
    assert.deepEqual(await again.getApp('web'), app);
    assert.deepEqual(await again.getDeployment('d-1'), deployment);
    // The revision survived too: it is still the token for the next write, and a stale one still loses.
    const next = await again.putApp({ ...app, generation: 4 }, app.revision);
    assert.ok(next.revision > app.revision, 'the revision should grow after a reopen');
    await assertConflict(again.putApp(app, app.revision));
  });

  test('mutating a returned record does not change the store', async (t) => {
    const { store } = await fresh(t, open);
    const stored = await store.putApp(newAppRecord('web', 1_000), 0);
    await store.putDeployment(sampleDeployment());
    mutateApp(stored);
    mutateApp((await store.getApp('web'))!);
    mutateApp((await store.listApps())[0]!);
    mutateDeployment((await store.getDeployment('d-1'))!);
    mutateDeployment((await store.listDeployments('web', 1))[0]!);
    mutateDeployment((await store.listOpenDeployments())[0]!);
    assert.deepEqual(await store.getApp('web'), { ...newAppRecord('web', 1_000), revision: stored.revision });
    assert.deepEqual(await store.getDeployment('d-1'), sampleDeployment());
  });

  test('mutating a record after putting it does not change the store', async (t) => {
    const { store } = await fresh(t, open);
    const app = newAppRecord('web', 1_000);
    const stored = await store.putApp(app, 0);
    const deployment = sampleDeployment();
    await store.putDeployment(deployment);
    mutateApp(app);
    mutateDeployment(deployment);
    assert.deepEqual(await store.getApp('web'), { ...newAppRecord('web', 1_000), revision: stored.revision });
    assert.deepEqual(await store.getDeployment('d-1'), sampleDeployment());
  });
}

async function assertConflict(write: Promise<unknown>): Promise<void> {
  await assert.rejects(write, (err: unknown) => {
    assert.ok(err instanceof RevisionConflictError, `expected a RevisionConflictError, got ${err}`);
    assert.equal(err.code, 'REVISION_CONFLICT');
    return true;
  });
}

function advance(deployment: DeploymentRecord, phase: DeploymentRecord['phase'], at: number): DeploymentRecord {
  return { ...deployment, phase, phases: [...deployment.phases, { phase, at }] };
}

function ids(deployments: readonly DeploymentRecord[]): string[] {
  return deployments.map((d) => d.id);
}

// Records are readonly in their type; these casts reach past it on purpose, as a careless caller might.
function mutateApp(app: AppRecord): void {
  Object.assign(app, { live: 'green', generation: 42 });
  (app.envs.blue.targets as string[]).push('http://mutated:1');
}

function mutateDeployment(deployment: DeploymentRecord): void {
  Object.assign(deployment, { phase: 'done', who: 'mallory' });
  (deployment.targets as string[]).push('http://mutated:1');
  (deployment.phases as unknown[]).push({ phase: 'done', at: 0 });
}

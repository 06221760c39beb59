// AppController.save against a real SQLite store whose WAL flush the test holds or fails: the route table follows a
// change at its commit, a later flush never puts an older record back, and a change that is in effect is not
// reported as failed when its flush fails (while the store takes no write after that).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/load.ts';
import { systemClock } from '../core/clock.ts';
import { RevisionConflictError, StoreUnavailableError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import type { AppRecord } from '../core/types.ts';
import { StaticDriver } from '../drivers/static-driver.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { AppController } from './app-controller.ts';
import { flipLive, withEnv, withEnvState, withPause } from './app-state.ts';
import { enterPhase, newDeployment } from './deployment.ts';
import { DeploymentRun } from './deployment-run.ts';

/** Flushes the test ends one by one (`end`), or fails (`fail`); they end at once while `hold` is false. */
class Disk {
  hold = false;
  private pending: { resolve: () => void; reject: (err: Error) => void }[] = [];

  readonly syncFile = () => (this.hold ? new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject })) : Promise.resolve());

  get waiting(): number {
    return this.pending.length;
  }

  end(): void {
    this.pending.shift()!.resolve();
  }

  fail(): void {
    this.pending.shift()!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' }));
  }
}

/** `apply`: how long applying a route table takes (data-path workers); default: at once. */
async function controller(t: TestContext, apply: () => void | Promise<void> = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const disk = new Disk();
  const store = await SqliteStore.open(join(dir, 'cutover.db'), { syncFile: disk.syncFile });
  t.after(() => store.close());
  const tables: AppRecord[] = [];
  const config = parseConfigText('apps:\n  web: {}\n', { env: {}, source: join(dir, 'cutover.yaml') }).apps.web!;
  const app = await AppController.open({
    config,
    store,
    health: { isHealthy: () => true, lastError: () => null },
    driver: new StaticDriver(),
    stats: { forEnv: () => { throw new Error('not used'); }, reset: () => {} },
    previewRoute: () => null,
    listener: { onAppChanged: (record) => (tables.push(record), apply()) },
    events: { emit: () => {} },
    clock: systemClock,
    log: silentLogger,
  });
  const live = withEnv(withEnv(app.record, 'blue', { version: 'v1', targets: ['http://127.0.0.1:1'], state: 'live' }, 0), 'green', { version: 'v2', targets: ['http://127.0.0.1:2'], state: 'ready' }, 0);
  await app.save({ ...live, live: 'blue' });
  return { app, store, disk, tables };
}

test('the route table follows a change as soon as it is committed, before its flush ends', async (t) => {
  const { app, disk, tables } = await controller(t);
  disk.hold = true;
  const saving = app.save(flipLive(app.record, 'green', 'standby', 1));
  assert.equal(tables.at(-1)!.live, 'green', 'applied at the commit');
  assert.equal(app.record.live, 'green');
  let saved = false;
  void saving.then(() => (saved = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(saved, false, 'the save resolves only once on disk');
  disk.end();
  await saving;
});

test('a flush that ends after a newer save committed does not put the older record back', async (t) => {
  const { app, disk } = await controller(t);
  disk.hold = true;
  const first = app.save(flipLive(app.record, 'green', 'standby', 1));
  const second = app.save(flipLive(app.record, 'blue', 'standby', 2));
  const newest = app.record.revision;
  disk.end(); // the first save's flush
  await first;
  assert.equal(app.record.revision, newest);
  assert.equal(app.record.live, 'blue');
  await new Promise((r) => setImmediate(r));
  disk.end(); // the flush the second save waits for
  await second;
  assert.equal(app.record.revision, newest);
});

test('a change in effect whose flush fails is not reported as failed; the store commits nothing after it', async (t) => {
  const { app, store, disk, tables } = await controller(t);
  disk.hold = true;
  const saving = app.save(flipLive(app.record, 'green', 'standby', 1));
  disk.fail();
  await saving; // traffic follows green already: its deployment must not fail and stop it
  assert.equal(app.record.live, 'green');
  const applied = tables.length;
  const stored = (await store.getApp('web'))!;
  await assert.rejects(app.save(flipLive(app.record, 'blue', 'standby', 2)), (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.match(err.message, /failed earlier .*restart cutover/);
    return true;
  });
  assert.equal(tables.length, applied, 'nothing applied');
  assert.deepEqual(await store.getApp('web'), stored, 'nothing committed');
  assert.equal(disk.waiting, 0, 'no flush tried');
});

test('a switch sent before another switch made its change is refused, not run after it (it would undo it)', async (t) => {
  const { app, disk } = await controller(t);
  // An ended deployment: a call that meets a flip under way waits for the app rather than being refused at once.
  const ended = { ...newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: [], who: 't', at: 0 }), phase: 'done' as const };
  app.current = new DeploymentRun(app, app.runDeps, ended, false);
  const sentTogether = performance.now();
  disk.hold = true;
  const first = app.switch({ force: false, who: 'a', arrivedAt: sentTogether });
  while (disk.waiting === 0) await new Promise((r) => setImmediate(r));
  const second = app.switch({ force: false, who: 'b', arrivedAt: sentTogether });
  disk.hold = false;
  disk.end();
  assert.equal((await first).live, 'green');
  await assert.rejects(second, (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'LIVE_CHANGED');
    assert.match((err as Error).message, /green became live after this switch was sent; nothing was done/);
    return true;
  });
  assert.equal(app.record.live, 'green');
});

test('a rollback sent on seeing a deployment\'s switch, while workers still apply it, waits and rolls back', async (t) => {
  let applied = (): void => {};
  let holding = false;
  const { app } = await controller(t, () => (holding ? new Promise<void>((r) => (applied = r)) : undefined));
  const done = { ...newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: [], who: 't', at: 0 }), phase: 'done' as const };
  app.current = new DeploymentRun(app, app.runDeps, done, false);
  const release = (app as unknown as { lock: { acquire(what: string): () => void } }).lock.acquire('the deployment of v2');
  holding = true;
  const flip = app.save(flipLive(app.record, 'green', 'standby', 1));
  await new Promise((r) => setTimeout(r, 10));
  // Committed, so readable: a rollback sent now is meant for the version it saw live.
  const rollback = app.rollback({ force: false, who: 'b' });
  holding = false;
  applied();
  await flip;
  release();
  assert.equal((await rollback).live, 'blue');
});

test('a switch back to a version its analysis rolled back is refused, even if it still runs', async (t) => {
  const { app, store } = await controller(t);
  const rejected = enterPhase(
    { ...newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: [], who: 't', at: 0 }), phase: 'watching' },
    'rolled-back', 1, 'analysis failed: error rate 50% over 120 requests exceeds maxErrorRate 5%',
  );
  await store.putDeployment(rejected);
  await assert.rejects(app.switch({ force: false, who: 'b' }), { code: 'ANALYSIS_REJECTED' });
  assert.equal(app.record.live, 'blue');
});

test('a flip that says what it saw live is refused when that is no longer so, and done when it still is', async (t) => {
  const { app } = await controller(t);
  await assert.rejects(app.switch({ force: false, who: 'b', from: 'green' }), { code: 'LIVE_CHANGED', message: /green is no longer live \(blue is\); nothing was done/ });
  assert.equal(app.record.live, 'blue');
  assert.equal((await app.switch({ force: false, who: 'b', from: 'blue' })).live, 'green');
});

test('a change stored over another writer\'s is carried onto it when the two touched different parts of the record', async (t) => {
  const { app, store } = await controller(t);
  // Another instance sharing the store pauses the app; this one has not seen it when its deployment takes a step.
  const seen = (await store.getApp('web'))!;
  await store.putApp(withPause(seen, 4_000_000_000_000), seen.revision);
  await app.save(withEnvState(app.record, 'green', 'retired', 1));
  const stored = (await store.getApp('web'))!;
  assert.deepEqual([stored.pausedUntil, stored.envs.green.state], [4_000_000_000_000, 'retired'], 'both writes are in the record');
  assert.equal(app.record.revision, stored.revision);
  // Both changing the same environment is a conflict only the caller can resolve.
  await store.putApp(withEnvState(stored, 'green', 'failed', 2), stored.revision);
  await assert.rejects(app.save(withEnvState(app.record, 'green', 'deploying', 3)), RevisionConflictError);
  assert.equal((await store.getApp('web'))!.envs.green.state, 'failed');
});

test('a change computed from an older record than the one held is refused, not stored over the newer one', async (t) => {
  const { app, store } = await controller(t);
  const stale = withEnvState(app.record, 'green', 'retired', 1);
  // Meanwhile another instance's pause arrives (as the fleet's watch hands it over).
  const seen = (await store.getApp('web'))!;
  app.adopt(await store.putApp(withPause(seen, 4_000_000_000_000), seen.revision));
  await assert.rejects(app.save(stale), RevisionConflictError);
  const stored = (await store.getApp('web'))!;
  assert.deepEqual([stored.pausedUntil, stored.envs.green.state], [4_000_000_000_000, 'ready'], 'the pause stands, the stale change was not written');
});

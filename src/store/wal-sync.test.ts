import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync } from './wal-sync.ts';

/** A flush that ends when the test says so, recording when each one started. */
function controlledFlush() {
  const flushes: { end: (err?: Error) => void }[] = [];
  const syncFile = () =>
    new Promise<void>((resolve, reject) => flushes.push({ end: (err) => (err === undefined ? resolve() : reject(err)) }));
  return { flushes, syncFile };
}

/** Which of `promises` have settled, after the microtasks queued so far ran. */
async function settled(promises: Promise<unknown>[]): Promise<boolean[]> {
  const done = promises.map(() => false);
  promises.forEach((p, i) => p.then(() => (done[i] = true), () => (done[i] = true)));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('a sync starts a flush at once, and resolves when it ends', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = new WalSync('/x-wal', syncFile);
  const first = wal.sync();
  assert.equal(flushes.length, 1);
  assert.deepEqual(await settled([first]), [false]);
  flushes[0]!.end();
  assert.deepEqual(await settled([first]), [true]);
});

test('syncs asked for during a flush share the next one, which starts when it ends', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = new WalSync('/x-wal', syncFile);
  const first = wal.sync();
  // These commits may have landed after the running flush began: only a later flush covers them.
  const second = wal.sync();
  const third = wal.sync();
  assert.equal(flushes.length, 1, 'no second flush while one runs');
  flushes[0]!.end();
  assert.deepEqual(await settled([first, second, third]), [true, false, false]);
  assert.equal(flushes.length, 2, 'one more flush for both');
  flushes[1]!.end();
  assert.deepEqual(await settled([second, third]), [true, true]);
  // Nothing runs now: the next sync starts its own flush.
  const fourth = wal.sync();
  assert.equal(flushes.length, 3);
  flushes[2]!.end();
  await fourth;
});

test('a failed flush rejects the syncs that waited for it; the next sync flushes again', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = new WalSync('/x-wal', syncFile);
  const first = wal.sync();
  const second = wal.sync();
  flushes[0]!.end(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
  await assert.rejects(first, /EIO/);
  flushes[1]!.end();
  await second;
  const third = wal.sync();
  flushes[2]!.end();
  await third;
});

test('the default flush syncs a real file, and a file that is gone has nothing to flush', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state.db-wal');
  const gone = new WalSync(join(dir, 'gone-wal'));
  await gone.sync();
  writeFileSync(path, 'frames');
  const wal = new WalSync(path);
  await wal.sync();
  await wal.sync();
  await wal.close();
  await gone.close();
});

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
  const wal = await WalSync.open('/x-wal', syncFile);
  const first = wal.sync();
  assert.equal(flushes.length, 1);
  assert.deepEqual(await settled([first]), [false]);
  flushes[0]!.end();
  assert.deepEqual(await settled([first]), [true]);
});

test('syncs asked for during a flush share the next one, which starts when it ends', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = await WalSync.open('/x-wal', syncFile);
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

test('a failed flush fails its syncs and every one after: what it held may be lost though the next flush passes', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = await WalSync.open('/x-wal', syncFile);
  const first = wal.sync();
  const second = wal.sync();
  flushes[0]!.end(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' }));
  await assert.rejects(first, /EIO/);
  await assert.rejects(second, /a flush of \/x-wal failed earlier \(EIO: i\/o error, fdatasync\).*restart cutover/);
  await assert.rejects(wal.sync(), (err: NodeJS.ErrnoException) => err.code === 'EIO' && err.syscall === 'fdatasync');
  assert.equal(flushes.length, 1, 'no flush after the failed one');
  await wal.close();
});

test('the default flush syncs the real file, which must exist: a wrong path fails at open, not silently', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(WalSync.open(join(dir, 'gone-wal')), { code: 'ENOENT' });
  const path = join(dir, 'state.db-wal');
  writeFileSync(path, 'frames');
  const wal = await WalSync.open(path);
  await wal.sync();
  await Promise.all([wal.sync(), wal.sync()]);
  await wal.close();
});

test('close waits for the flush under way and the one queued', async () => {
  const { flushes, syncFile } = controlledFlush();
  const wal = await WalSync.open('/x-wal', syncFile);
  void wal.sync();
  void wal.sync();
  let closed = false;
  const closing = wal.close().then(() => (closed = true));
  flushes[0]!.end();
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'the queued flush still runs');
  flushes[1]!.end();
  await closing;
});

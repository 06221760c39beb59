import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../../test/support/cutover-harness.ts';
import { FileWatcher } from './file-watcher.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function startWatcher(t: TestContext, files: string[], pollMs = 60_000): string[][] {
  const calls: string[][] = [];
  const watcher = new FileWatcher({ files, onChange: (changed) => void calls.push([...changed]), debounceMs: 50, pollMs });
  t.after(() => watcher.close());
  watcher.start();
  return calls;
}

test('several quick writes to the watched files are reported once, with the files that changed', async (t) => {
  const dir = tempDir(t);
  const [a, b, c] = ['a.crt', 'a.key', 'b.crt'].map((f) => join(dir, f));
  for (const f of [a!, b!, c!]) writeFileSync(f, 'one');
  const calls = startWatcher(t, [a!, b!, c!]);
  writeFileSync(a!, 'two');
  writeFileSync(b!, 'two, longer');
  writeFileSync(join(dir, 'unrelated'), 'x');
  await eventually(() => calls.length > 0, 5_000, 'a report');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(calls, [[a, b]]);
});

test('a swapped symlinked directory, as Kubernetes updates a mounted secret, is noticed by the watch', async (t) => {
  const dir = tempDir(t);
  for (const version of ['v1', 'v2']) {
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'tls.crt'), version === 'v1' ? 'old' : 'the new one');
  }
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
  const calls = startWatcher(t, [join(dir, 'tls.crt')]);
  symlinkSync('v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await eventually(() => calls.length > 0, 5_000, 'a report');
  assert.deepEqual(calls, [[join(dir, 'tls.crt')]]);
});

test('where nothing can be watched (no directory yet), the periodic check notices the files', async (t) => {
  const dir = join(tempDir(t), 'later');
  const file = join(dir, 'tls.crt');
  const calls = startWatcher(t, [file], 100);
  mkdirSync(dir);
  writeFileSync(file, 'now it exists');
  await eventually(() => calls.length > 0, 5_000, 'a report');
  assert.deepEqual(calls[0], [file]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreUnavailableError } from '../core/errors.ts';
import { openStore } from './open-store.ts';

test('a state file in a directory that does not exist yet: the directory, the lock and the store are created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '.cutover', 'nested', 'cutover.db');
  const { store, lock } = await openStore({ sqlite: path });
  assert.ok(existsSync(`${path}.lock`), 'the lock beside the state file');
  assert.ok(existsSync(path));
  await store.close();
  lock?.release();
  assert.equal(existsSync(`${path}.lock`), false);
});

test('a file where the state directory should be is refused as STORE_UNAVAILABLE, naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'state'), 'not a directory');
  await assert.rejects(openStore({ sqlite: join(dir, 'state', 'cutover.db') }), (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.match(err.message, /cannot create its directory .*state \(is a file in the way\?\)/);
    return true;
  });
});

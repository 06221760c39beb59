import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperationLock } from './operation-lock.ts';

test('a held lock refuses a second operation with BUSY, naming the first', () => {
  const lock = new OperationLock('web');
  const release = lock.acquire('a switch');
  assert.throws(() => lock.acquire('a rollback'), { code: 'BUSY', message: /a switch/ });
  release();
  release(); // twice: still released once
  lock.acquire('a rollback');
});

test('whenFree resolves at once when free, at the release when held, or after its time', async () => {
  const lock = new OperationLock('web');
  await lock.whenFree(10_000);
  const release = lock.acquire('the deployment of v2');
  let freed = false;
  const waiting = lock.whenFree(10_000).then(() => (freed = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(freed, false);
  const releasedAt = performance.now();
  release();
  await waiting;
  assert.ok(performance.now() - releasedAt < 1_000, 'woken by the release, not by its time');
  lock.acquire('the deployment of v3');
  const startedAt = performance.now();
  await lock.whenFree(50);
  assert.ok(performance.now() - startedAt >= 45, 'it waited its time');
  assert.equal(lock.busyWith, 'the deployment of v3');
});

test('a lock taken as brief says so while held, and not once released or taken by another', () => {
  const lock = new OperationLock('web');
  const flip = lock.acquire('a switch', { brief: true });
  assert.equal(lock.heldBriefly, true);
  flip();
  assert.equal(lock.heldBriefly, false);
  lock.acquire('the deployment of v2');
  assert.equal(lock.heldBriefly, false);
});

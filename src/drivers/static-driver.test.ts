import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environmentDriverContract } from './driver.contract.ts';
import { StaticDriver } from './static-driver.ts';

environmentDriverContract('static', async () => {
  const driver = new StaticDriver();
  return {
    driver,
    instances: 2,
    request: (color, version) => ({ app: 'web', color, version, targets: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'] }),
    cleanup: () => driver.close(),
  };
});

test('a static start without targets is refused with a sentence saying what to pass', async () => {
  const driver = new StaticDriver();
  await assert.rejects(driver.start({ app: 'web', color: 'blue', version: 'v1', targets: [] }, new AbortController().signal), {
    code: 'BAD_REQUEST',
    message: 'a static app needs at least one target URL in \"targets\"',
  });
});

test('static targets are described as external, and there are no logs', async () => {
  const driver = new StaticDriver();
  await driver.start({ app: 'web', color: 'green', version: 'v1', targets: ['http://10.0.0.1:80'] }, new AbortController().signal);
  assert.deepEqual(driver.describe('web', 'green'), [{ url: 'http://10.0.0.1:80', state: 'external', pid: null, restarts: 0, startedAt: null, lastExit: null }]);
  assert.deepEqual(driver.logs('web', 'green'), []);
  assert.deepEqual(driver.describe('api', 'green'), []);
});

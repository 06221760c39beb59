// The suite every EnvironmentDriver must pass (static and process now, container later). Each implementation's
// test file calls environmentDriverContract with a factory that builds a fresh driver for app "web".

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Color } from '../core/types.ts';
import type { EnvironmentDriver, StartRequest } from './environment-driver.ts';

export interface DriverUnderTest {
  readonly driver: EnvironmentDriver;
  /** A request this driver can start: static drivers need targets, others ignore them. */
  request(color: Color, version: string): StartRequest;
  /** How many URLs a start returns. */
  readonly instances: number;
  /** Closes the driver and removes whatever it left on disk. */
  cleanup(): Promise<void>;
}

const TIMEOUT = { timeout: 30_000 };

export function environmentDriverContract(name: string, make: () => Promise<DriverUnderTest>): void {
  describe(`EnvironmentDriver contract: ${name}`, () => {
    startTests(make);
    stopTests(make);
    unknownEnvironmentTests(make);
  });
}

type Make = () => Promise<DriverUnderTest>;

/** Builds a driver and registers its cleanup before the test can fail. */
async function fresh(t: TestContext, make: Make): Promise<DriverUnderTest> {
  const fixture = await make();
  t.after(fixture.cleanup);
  return fixture;
}

function startTests(make: Make): void {
  test('start resolves with one http URL per instance, and describe lists them', TIMEOUT, async (t) => {
    const { driver, request, instances } = await fresh(t, make);
    const urls = await driver.start(request('blue', 'v1'), AbortSignal.timeout(10_000));
    assert.equal(urls.length, instances);
    for (const url of urls) assert.match(url, /^http:\/\/[^/]+:\d+$/);
    const described = driver.describe('web', 'blue');
    assert.deepEqual(described.map((d) => d.url), urls);
    for (const d of described) assert.ok(!['stopped', 'failed'].includes(d.state), `state ${d.state}`);
  });

  test('the two environments are independent', TIMEOUT, async (t) => {
    const { driver, request } = await fresh(t, make);
    const blue = await driver.start(request('blue', 'v1'), AbortSignal.timeout(10_000));
    const green = await driver.start(request('green', 'v2'), AbortSignal.timeout(10_000));
    await driver.stop('web', 'blue');
    assert.deepEqual(driver.describe('web', 'blue'), []);
    assert.deepEqual(driver.describe('web', 'green').map((d) => d.url), green);
    assert.ok(blue.length > 0);
  });

  test('starting an environment again replaces what ran there', TIMEOUT, async (t) => {
    const { driver, request, instances } = await fresh(t, make);
    await driver.start(request('blue', 'v1'), AbortSignal.timeout(10_000));
    const second = await driver.start(request('blue', 'v2'), AbortSignal.timeout(10_000));
    assert.equal(second.length, instances);
    assert.deepEqual(driver.describe('web', 'blue').map((d) => d.url), second);
  });

  test('a start whose signal is already aborted rejects and leaves nothing running', TIMEOUT, async (t) => {
    const { driver, request } = await fresh(t, make);
    await assert.rejects(driver.start(request('blue', 'v1'), AbortSignal.abort()));
    assert.deepEqual(driver.describe('web', 'blue'), []);
  });

  test('restore resolves with the environment URLs', TIMEOUT, async (t) => {
    const { driver, request, instances } = await fresh(t, make);
    const urls = await driver.restore(request('green', 'v1'));
    assert.equal(urls.length, instances);
    assert.deepEqual(driver.describe('web', 'green').map((d) => d.url), urls);
  });
}

function stopTests(make: Make): void {
  test('stop empties the environment and is idempotent', TIMEOUT, async (t) => {
    const { driver, request } = await fresh(t, make);
    await driver.start(request('blue', 'v1'), AbortSignal.timeout(10_000));
    await driver.stop('web', 'blue');
    await driver.stop('web', 'blue');
    await Promise.all([driver.stop('web', 'blue'), driver.stop('web', 'blue')]);
    assert.deepEqual(driver.describe('web', 'blue'), []);
  });

  test('close stops every environment', TIMEOUT, async (t) => {
    const { driver, request } = await fresh(t, make);
    await driver.start(request('blue', 'v1'), AbortSignal.timeout(10_000));
    await driver.start(request('green', 'v2'), AbortSignal.timeout(10_000));
    await driver.close();
    assert.deepEqual(driver.describe('web', 'blue'), []);
    assert.deepEqual(driver.describe('web', 'green'), []);
  });
}

function unknownEnvironmentTests(make: Make): void {
  test('stop, describe, logs and followLogs are safe on an environment it never ran', TIMEOUT, async (t) => {
    const { driver } = await fresh(t, make);
    for (const app of ['web', 'never-configured']) {
      for (const color of ['blue', 'green'] as const) {
        await driver.stop(app, color);
        assert.deepEqual(driver.describe(app, color), []);
        assert.deepEqual(driver.logs(app, color), []);
      }
      const unsubscribe = driver.followLogs(app, null, () => {});
      unsubscribe();
      unsubscribe();
    }
  });

  test('close is safe on a driver that started nothing, and twice', TIMEOUT, async (t) => {
    const { driver } = await fresh(t, make);
    await driver.close();
    await driver.close();
  });
}

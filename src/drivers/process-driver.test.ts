import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/logger.ts';
import { environmentDriverContract } from './driver.contract.ts';
import type { LogLine } from './environment-driver.ts';
import { DEMO_APP, eventually, get, processConfig, processDriver, signal, startRequest, tempDir, texts } from './fixtures/process-fixture.ts';
import { ProcessDriver } from './process-driver.ts';
import { isRunning } from './process-group.ts';

environmentDriverContract('process', async () => {
  const baseDir = tempDir(null);
  const driver = new ProcessDriver({
    app: 'web',
    config: processConfig(baseDir, { instances: 2 }),
    stateDir: join(baseDir, 'state'),
    listener: { onInstanceEvent: () => {} },
    log: silentLogger,
  });
  return {
    driver,
    instances: 2,
    request: startRequest,
    cleanup: async () => {
      await driver.close();
      const { rmSync } = await import('node:fs');
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
});

test('each instance answers on its own port, with PORT and the CUTOVER_ variables set', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { instances: 2 });
  const urls = await driver.start(startRequest('green', 'v3'), signal());
  assert.equal(new Set(urls).size, 2);
  for (const [index, url] of urls.entries()) {
    await eventually(`${url} to answer`, async () => (await get(`${url}/version`)).status === 200);
    assert.deepEqual(JSON.parse((await get(`${url}/version`)).body), { version: 'v3', env: 'green', instance: String(index) });
  }
  const described = driver.describe('web', 'green');
  assert.deepEqual(described.map((d) => [d.state, d.restarts]), [['running', 0], ['running', 0]]);
  for (const d of described) assert.ok(d.pid !== null && isRunning(d.pid));
});

test('command, cwd and env are templated per instance; a relative cwd resolves against baseDir', { timeout: 20_000 }, async (t) => {
  const { driver, baseDir } = processDriver(t, {
    instances: 2,
    cwd: './releases/{{version}}',
    env: { GREETING: 'hi-{{version}}-{{env}}-{{port}}-{{instance}}', PLAIN: 'as is { }' },
    command: `echo "cwd=$(pwd) greeting=$GREETING plain=$PLAIN arg={{env}}/{{instance}}/{{port}}"; exec node ${DEMO_APP}`,
  });
  mkdirSync(join(baseDir, 'releases', 'v7'), { recursive: true });
  const urls = await driver.start(startRequest('blue', 'v7'), signal());
  const ports = urls.map((u) => new URL(u).port);
  await eventually('both instances to print their settings', () => driver.logs('web', 'blue').filter((l) => l.text.startsWith('cwd=')).length === 2);
  const printed = driver.logs('web', 'blue').filter((l) => l.text.startsWith('cwd=')).sort((a, b) => a.instance - b.instance).map((l) => l.text);
  assert.deepEqual(printed, [0, 1].map((i) => `cwd=${join(baseDir, 'releases', 'v7')} greeting=hi-v7-blue-${ports[i]}-${i} plain=as is { } arg=blue/${i}/${ports[i]}`));
});

test('a cwd that does not exist fails the start with a DriverError naming the directory', { timeout: 10_000 }, async (t) => {
  const { driver, baseDir } = processDriver(t, { cwd: 'releases/{{version}}' });
  await assert.rejects(driver.start(startRequest('blue', 'v9'), signal()), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DRIVER_FAILED');
    assert.ok(err.message.includes(join(baseDir, 'releases', 'v9')), err.message);
    return true;
  });
  assert.deepEqual(driver.describe('web', 'blue'), []);
});

test('stdout and stderr are captured line by line; logs() and followLogs() see them', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, {
    command: 'echo first; echo oops >&2; printf "no newline"; sleep 0.3; echo second; exec sleep 30',
  });
  const followed: LogLine[] = [];
  const unfollow = driver.followLogs('web', 'blue', (line) => followed.push(line));
  const greenOnly: LogLine[] = [];
  driver.followLogs('web', 'green', (line) => greenOnly.push(line));
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('"second" to be followed', () => followed.some((l) => l.text.endsWith('second')));
  unfollow();
  const lines = driver.logs('web', 'blue');
  assert.deepEqual(lines.filter((l) => l.stream === 'stderr').map((l) => l.text), ['oops']);
  assert.deepEqual(texts(lines.filter((l) => l.stream === 'stdout')), ['first', 'no newlinesecond']);
  assert.ok(lines.every((l) => l.color === 'blue' && l.instance === 0 && typeof l.at === 'number'));
  assert.deepEqual(greenOnly, []);
  assert.deepEqual(driver.logs('web', 'green'), []);
});

test('the log buffer keeps only the most recent lines of an environment', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done; exec sleep 30' }, { logLines: 10 });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('the last line', () => driver.logs('web', 'blue').at(-1)?.text === 'line 49');
  assert.deepEqual(texts(driver.logs('web', 'blue')), Array.from({ length: 10 }, (_, i) => `line ${40 + i}`));
});

test('a request for another app is refused; a closed driver refuses to start', { timeout: 10_000 }, async (t) => {
  const { driver } = processDriver(t);
  await assert.rejects(driver.start({ ...startRequest('blue', 'v1'), app: 'api' }, signal()), /runs app "web", not "api"/);
  await driver.close();
  await assert.rejects(driver.start(startRequest('blue', 'v1'), signal()), { code: 'DRIVER_FAILED' });
});

test('a stop or an abort while instances are being started stops every one already started', { timeout: 20_000 }, async (t) => {
  for (const interrupt of ['stop', 'abort'] as const) {
    // Ports are found within one turn of the event loop, so no timer can land between two spawns; the clock,
    // read once per spawn, is the hook that interrupts the start after its third instance.
    let spawns = 0;
    const controller = new AbortController();
    const clock = { now: () => (++spawns === 3 && (interrupt === 'stop' ? void driver.stop('web', 'blue') : controller.abort()), Date.now()) };
    const marker = `interrupted-start-${process.pid}-${interrupt}`;
    const { driver } = processDriver(t, { instances: 10, command: 'exec sleep 30', env: { MARKER: marker } }, { clock });
    await assert.rejects(driver.start(startRequest('blue', 'v1'), controller.signal), interrupt === 'stop' ? /stopped while it was being started/ : { name: 'AbortError' });
    assert.equal(spawns, 3);
    assert.deepEqual(driver.describe('web', 'blue'), []);
    assert.deepEqual(processesWithEnv('MARKER', marker), []);
  }
});

test('the admin token of cutover is not passed on to the instances', { timeout: 20_000 }, async (t) => {
  const saved = process.env.CUTOVER_TOKEN;
  process.env.CUTOVER_TOKEN = 'secret-admin-token';
  t.after(() => (saved === undefined ? delete process.env.CUTOVER_TOKEN : (process.env.CUTOVER_TOKEN = saved)));
  const { driver } = processDriver(t, { command: 'echo "token=${CUTOVER_TOKEN:-unset} app=$CUTOVER_APP"; exec sleep 30' });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('the line', () => driver.logs('web', 'blue').length === 1);
  assert.deepEqual(texts(driver.logs('web', 'blue')), ['token=unset app=web']);
});

/** Every live process (on Linux) whose environment has NAME=value. */
function processesWithEnv(name: string, value: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${name}=${value}`) && isRunning(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  DEMO_APP,
  FIXTURES,
  answers,
  eventually,
  killAtEnd,
  processDriver,
  signal,
  startRequest,
  texts,
} from './fixtures/process-fixture.ts';
import { isRunning } from './process-group.ts';

const FAST_RESTARTS = { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 60_000, maxRestarts: 3 };

test('an instance that crashes is restarted on the same port, with an event for each step', { timeout: 20_000 }, async (t) => {
  const { driver, events } = processDriver(t, {}, { restart: FAST_RESTARTS });
  const [url] = await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('the instance to answer', () => answers(url!));
  const pid = driver.describe('web', 'blue')[0]!.pid!;
  process.kill(pid, 'SIGKILL');
  await eventually('a restart', () => events.some((e) => e.kind === 'restarted'));
  await eventually('the restarted instance to answer', () => answers(url!));
  assert.deepEqual(events.map((e) => [e.app, e.color, e.url, e.kind]), [
    ['web', 'blue', url, 'exited'],
    ['web', 'blue', url, 'restarted'],
  ]);
  assert.match(events[0]!.detail, /was killed by SIGKILL/);
  const [after] = driver.describe('web', 'blue');
  assert.equal(after!.restarts, 1);
  assert.notEqual(after!.pid, pid);
  assert.match(after!.lastExit ?? '', /was killed by SIGKILL/, 'the exit is told while the restarted process is new');
});

test('an exit is no longer told once the process after it has run as long as a restart streak lasts', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, {}, { restart: { ...FAST_RESTARTS, resetAfterMs: 300 } });
  const [url] = await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('the instance to answer', () => answers(url!));
  process.kill(driver.describe('web', 'blue')[0]!.pid!, 'SIGKILL');
  await eventually('a restart', () => driver.describe('web', 'blue')[0]!.restarts === 1 && driver.describe('web', 'blue')[0]!.state === 'running');
  assert.notEqual(driver.describe('web', 'blue')[0]!.lastExit, null);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(driver.describe('web', 'blue')[0]!.lastExit, null);
});

test('restarts back off exponentially and give up after too many in a row', { timeout: 20_000 }, async (t) => {
  const { driver, events } = processDriver(t, { command: 'echo boom >&2; exit 3' }, { restart: FAST_RESTARTS });
  await driver.start(startRequest('green', 'v1'), signal());
  await eventually('the driver to give up', () => events.some((e) => e.kind === 'gave-up'));
  assert.deepEqual(events.map((e) => e.kind), ['exited', 'restarted', 'exited', 'restarted', 'exited', 'restarted', 'exited', 'gave-up']);
  const delays = events.filter((e) => e.kind === 'restarted').map((e) => Number(/after (\d+) ms/.exec(e.detail)?.[1]));
  assert.deepEqual(delays, [10, 20, 40]);
  assert.match(events.at(-1)!.detail, /exited with code 3 after 3 restarts in a row/);
  assert.deepEqual(driver.describe('web', 'green').map((d) => [d.state, d.restarts, d.pid]), [['failed', 3, null]]);
  await eventually('the four runs to be in the logs', () => texts(driver.logs('web', 'green')).filter((l) => l === 'boom').length === 4);
});

test('an instance that stayed up long enough starts a fresh streak', { timeout: 20_000 }, async (t) => {
  const restart = { ...FAST_RESTARTS, resetAfterMs: 200, maxRestarts: 1 };
  const { driver, events } = processDriver(t, { command: 'sleep 0.3; exit 1' }, { restart });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('three restarts', () => events.filter((e) => e.kind === 'restarted').length >= 3);
  assert.ok(!events.some((e) => e.kind === 'gave-up'));
  assert.ok(events.filter((e) => e.kind === 'restarted').every((e) => e.detail.endsWith('after 10 ms')));
});

test('stop sends SIGTERM to the instance, which exits without a restart or an event', { timeout: 20_000 }, async (t) => {
  const { driver, events } = processDriver(t, { instances: 2 }, { restart: FAST_RESTARTS });
  const urls = await driver.start(startRequest('blue', 'v1'), signal());
  for (const url of urls) await eventually('the instances to answer', () => answers(url));
  const pids = driver.describe('web', 'blue').map((d) => d.pid!);
  const began = Date.now();
  await driver.stop('web', 'blue');
  assert.ok(Date.now() - began < 2_000, `stop took ${Date.now() - began} ms`);
  assert.deepEqual(pids.filter(isRunning), []);
  assert.equal(texts(driver.logs('web', 'blue')).filter((l) => l.includes('SIGTERM, closing')).length, 2);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(events, []);
  for (const url of urls) assert.equal(await answers(url), false);
});

test('an instance that ignores SIGTERM gets SIGKILL once the grace is over', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: `exec node ${join(FIXTURES, 'stubborn.mjs')}`, stopGraceMs: 700 });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('the stubborn app to be ready', () => texts(driver.logs('web', 'blue')).includes('stubborn ready'));
  const pid = driver.describe('web', 'blue')[0]!.pid!;
  const began = Date.now();
  await driver.stop('web', 'blue');
  const took = Date.now() - began;
  assert.ok(took >= 650 && took < 3_500, `stop took ${took} ms`);
  assert.equal(isRunning(pid), false);
  assert.ok(texts(driver.logs('web', 'blue')).includes('got SIGTERM, ignoring it'));
});

test('close stops the shell and every process it started', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: `sleep 300 & echo "grandchild $!"; node ${DEMO_APP}` });
  await driver.start(startRequest('green', 'v1'), signal());
  const grandchild = () => Number(/^grandchild (\d+)$/.exec(texts(driver.logs('web', 'green')).find((l) => l.startsWith('grandchild')) ?? '')?.[1]);
  await eventually('the grandchild pid to be printed', () => grandchild() > 0);
  killAtEnd(t, () => [grandchild()]);
  const shell = driver.describe('web', 'green')[0]!.pid!;
  assert.ok(isRunning(grandchild()));
  await driver.close();
  assert.equal(isRunning(shell), false);
  assert.equal(isRunning(grandchild()), false);
});

test('when the shell dies, what it left behind is killed so the restart gets the port', { timeout: 20_000 }, async (t) => {
  const { driver, events } = processDriver(t, { command: `node ${DEMO_APP} & echo "server $!"; wait` }, { restart: FAST_RESTARTS });
  const [url] = await driver.start(startRequest('blue', 'v1'), signal());
  const servers = () => texts(driver.logs('web', 'blue')).filter((l) => l.startsWith('server ')).map((l) => Number(l.slice(7)));
  await eventually('the server to answer', async () => servers().length === 1 && (await answers(url!)));
  killAtEnd(t, servers);
  process.kill(driver.describe('web', 'blue')[0]!.pid!, 'SIGKILL');
  await eventually('a second server', () => servers().length === 2);
  await eventually('the old server to be gone', () => !isRunning(servers()[0]!));
  await eventually('the new server to answer', () => answers(url!));
  assert.deepEqual(events.map((e) => e.kind), ['exited', 'restarted']);
});

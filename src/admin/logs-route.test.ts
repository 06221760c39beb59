import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { toCutoverError } from '../core/errors.ts';
import type { EnvironmentDriver } from '../drivers/environment-driver.ts';
import { eventually, processDriver, signal, startRequest } from '../drivers/fixtures/process-fixture.ts';
import { StaticDriver } from '../drivers/static-driver.ts';
import { formatLogLine, serveLogs } from './logs-route.ts';

const LINE = /^\d\d:\d\d:\d\d (blue|green)#\d (stdout|stderr)\| .*$/;

test('recent lines of one environment, as plain text, the last `lines` of them', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; exec sleep 30' });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('three lines', () => driver.logs('web', 'blue').length === 3);
  const url = await serve(t, driver);
  const res = await request(`${url}?env=blue&lines=2`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.headers['x-cutover-driver'], 'process');
  const lines = (await res.body.text()).trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => l.slice(9)), ['blue#0 stderr| two', 'blue#0 stdout| three']);
  for (const line of lines) assert.match(line, LINE);
});

test('without env both environments are merged by time', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'echo "hello from {{env}}"; exec sleep 30' });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('blue', () => driver.logs('web', 'blue').length === 1);
  await driver.start(startRequest('green', 'v2'), signal());
  await eventually('green', () => driver.logs('web', 'green').length === 1);
  const text = await (await request(await serve(t, driver))).body.text();
  assert.deepEqual(text.trimEnd().split('\n').map((l) => l.slice(9)), ['blue#0 stdout| hello from blue', 'green#0 stdout| hello from green']);
});

test('follow=1 streams new lines until the client goes away, then stops following', { timeout: 20_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.05; done' });
  let following = 0;
  const watched: EnvironmentDriver = Object.create(driver, {
    followLogs: {
      value: (...args: Parameters<EnvironmentDriver['followLogs']>) => {
        following++;
        const unfollow = driver.followLogs(...args);
        return () => (following--, unfollow());
      },
    },
  });
  await driver.start(startRequest('green', 'v1'), signal());
  const url = await serve(t, watched);
  const controller = new AbortController();
  const res = await request(`${url}?env=green&follow=1&lines=0`, { signal: controller.signal });
  let received = '';
  res.body.setEncoding('utf8');
  res.body.on('data', (chunk: string) => (received += chunk));
  res.body.on('error', () => {});
  await eventually('five streamed lines', () => received.split('\n').length > 5);
  for (const line of received.split('\n').slice(0, 5)) assert.match(line, /^\d\d:\d\d:\d\d green#0 stdout\| tick \d+$/);
  assert.equal(following, 1);
  controller.abort();
  await eventually('the follower to be removed', () => following === 0, 5_000);
});

test('a bad env or lines is a BadRequestError; the static driver has no lines', { timeout: 10_000 }, async (t) => {
  const url = await serve(t, new StaticDriver());
  for (const query of ['env=purple', 'lines=-1', 'lines=lots']) {
    const res = await request(`${url}?${query}`);
    assert.equal(res.statusCode, 400);
    assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  }
  const res = await request(url);
  assert.equal(res.headers['x-cutover-driver'], 'static');
  assert.equal(await res.body.text(), '');
});

test('formatLogLine: UTC time, environment and instance, stream, text', () => {
  const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  assert.equal(formatLogLine({ at, written: 'at', color: 'green', instance: 1, stream: 'stderr', text: 'boom' }), '03:04:05 green#1 stderr| boom\n');
});

test('formatLogLine: a line written before cutover restarted gets no time of its own, only the adoption it preceded', () => {
  const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  assert.equal(formatLogLine({ at, written: 'before', color: 'blue', instance: 0, stream: 'stdout', text: 'old' }), 'before 03:04:05 blue#0 stdout| old\n');
});

/** A real HTTP server whose only route is the logs of app "web"; errors answered like the admin API's. */
async function serve(t: TestContext, driver: EnvironmentDriver): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://admin');
    serveLogs(req, res, url, driver, 'web').catch((err) => {
      const error = toCutoverError(err);
      res.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.toJSON() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/apps/web/logs`;
}

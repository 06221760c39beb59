// SIGTERM: stop accepting, let requests in flight finish (up to the drain time), exit 0.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { BIN, configText, deploy, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { catchesSighup, childrenOf, signalPending } from './support/processes.ts';
import { startUpstream } from './support/upstream.ts';

test('SIGTERM lets a request in flight finish, then exits 0', async (t) => {
  const app = await startUpstream(t, 'app', (req, res) => {
    const delay = req.url === '/slow' ? 1_000 : 0;
    setTimeout(() => res.end('finished'), delay);
  });
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  await deploy(serve, 'v1', [app.url]);
  await (await request(serve.proxyUrl)).body.dump(); // leaves an idle keep-alive connection open

  const started = Date.now();
  const inFlight = request(`${serve.proxyUrl}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  await new Promise((r) => setTimeout(r, 200));
  serve.child.kill('SIGTERM');
  const exit = new Promise<number | null>((resolve) => serve.child.once('exit', (code) => resolve(code)));

  assert.deepEqual(await inFlight, { status: 200, body: 'finished' });
  assert.equal(await exit, 0);
  assert.ok(Date.now() - started < 4_000, 'an idle keep-alive connection does not hold the shutdown up');
  await assert.rejects(request(serve.proxyUrl), /ECONNREFUSED/);
});

/** `cutover serve` spawned, once it has a SIGHUP handler; `output` is its stdout and stderr so far. */
async function serveHandlingSignals(t: TestContext) {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP));
  const child = spawn(process.execPath, [BIN, 'serve', '-c', join(dir, 'cutover.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CUTOVER_LOG_LEVEL: 'info' } });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exit = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  for (const deadline = Date.now() + 10_000; !catchesSighup(child.pid!); await new Promise((r) => setTimeout(r, 2))) {
    if (Date.now() > deadline) assert.fail('cutover serve never installed a SIGHUP handler');
  }
  // Held from bin/cutover.js's first lines: long (its modules load, then it starts) before it serves.
  assert.doesNotMatch(output, /proxy on/, 'the signals are handled before cutover serves');
  return { child, exit, output: () => output };
}

// Node's default for SIGTERM and SIGHUP ends the process at once. `cutover serve` holds them from its first line
// (once Node itself has started), so a stop or a reload sent while it loads and starts is done once it serves.
test('SIGTERM sent while cutover serve starts: it serves, then stops cleanly, exit 0', { skip: process.platform !== 'linux' }, async (t) => {
  const serve = await serveHandlingSignals(t);
  serve.child.kill('SIGTERM');
  assert.deepEqual(await serve.exit, [0, null], serve.output());
  assert.match(serve.output(), /SIGTERM while starting: stopping as soon as it serves/);
  assert.match(serve.output(), /proxy on http/, 'it served before it stopped');
});

test('SIGTERM sent twice while cutover serve starts: the second ends it at once, as Node\'s default does', { skip: process.platform !== 'linux' }, async (t) => {
  const serve = await serveHandlingSignals(t);
  serve.child.kill('SIGTERM');
  // The second only once the first was delivered: a signal sent while the same one is still pending merges with it
  // (under load the process may not run for a while), and it would reach cutover as one.
  for (const deadline = Date.now() + 5_000; signalPending(serve.child.pid!, 'SIGTERM'); await new Promise((r) => setTimeout(r, 1))) {
    if (Date.now() > deadline) assert.fail('the first SIGTERM was never delivered');
  }
  serve.child.kill('SIGTERM');
  assert.deepEqual(await serve.exit, [null, 'SIGTERM'], serve.output());
  assert.doesNotMatch(serve.output(), /proxy on http/, 'it never served');
});

test('SIGHUP sent while cutover serve starts: the config is read again once it serves, and it goes on', { skip: process.platform !== 'linux' }, async (t) => {
  const serve = await serveHandlingSignals(t);
  serve.child.kill('SIGHUP');
  for (const deadline = Date.now() + 10_000; !/config reloaded/.test(serve.output()); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline || serve.child.exitCode !== null || serve.child.signalCode !== null) assert.fail(`no reload: ${serve.output()}`);
  }
  assert.match(serve.output(), /proxy on http/);
  serve.child.kill('SIGTERM');
  assert.deepEqual(await serve.exit, [0, null], serve.output());
});

// Ctrl-C and systemd's stop signal the whole process group, data-path workers included, and a worker may get it
// while Node itself still starts (before anything can hold it). Its death must not turn the stop into a failed start.
test('SIGTERM to the whole process group while `workers: 2` start: a clean, prompt exit 0', { skip: process.platform !== 'linux' }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP, 'workers: 2'));
  const child = spawn(process.execPath, [BIN, 'serve', '-c', join(dir, 'cutover.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exit = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  for (const deadline = Date.now() + 10_000; childrenOf(child.pid!).length === 0; await new Promise((r) => setTimeout(r, 1))) {
    if (Date.now() > deadline) assert.fail(`no worker was forked: ${output}`);
  }
  const sentAt = Date.now();
  process.kill(-child.pid!, 'SIGTERM');
  assert.deepEqual(await exit, [0, null], output);
  assert.ok(Date.now() - sentAt < 10_000, `stopped in ${Date.now() - sentAt} ms`);
});

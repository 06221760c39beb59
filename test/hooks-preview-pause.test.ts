// Hooks, webhooks, preview and pause, end to end through a real `cutover serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, eventually, processApp, runCli, spawnServe, tempDir, writeReleases } from './support/cutover-harness.ts';
import { closeServer } from './support/upstream.ts';
import { exchange } from './support/raw-http.ts';

const SECRET = 'preview-secret-for-tests-0123';

async function serve(t: Parameters<typeof tempDir>[0], extra: string) {
  const dir = tempDir(t);
  writeReleases(dir, { v1: {}, v2: {}, v3: {} });
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, processApp(extra, 1)));
  return { dir, ...(await spawnServe(t, join(dir, 'cutover.yaml'))) };
}

async function text(url: string, headers: Record<string, string> = {}): Promise<string> {
  return (await request(url, { headers })).body.text();
}

test('a failing preSwitch hook aborts the deployment with live untouched; hook output kept in history', async (t) => {
  const hooks = `    hooks:
      preDeploy: 'echo "pre-deploy $CUTOVER_APP $CUTOVER_VERSION from $CUTOVER_PREVIOUS_VERSION to $CUTOVER_ENV"'
      preSwitch: 'echo "migration failed for $CUTOVER_VERSION" >&2; exit 3'`;
  const s = await serve(t, hooks.replace("exit 3'", "test \"$CUTOVER_VERSION\" = v1 || exit 3'"));
  assert.equal((await deploy(s, 'v1', [])).phase, 'done');
  const d = await deploy(s, 'v2', []);
  assert.equal(d.phase, 'failed');
  assert.equal(d.reason, 'the preSwitch hook exited with 3: migration failed for v2');
  assert.match(await text(s.proxyUrl), /hello from v1/);
  const preDeploy = d.hooks.find((h) => h.name === 'preDeploy')!;
  assert.deepEqual([preDeploy.ok, preDeploy.output.trim()], [true, 'pre-deploy web v2 from v1 to green']);
  assert.deepEqual([d.hooks[1]!.name, d.hooks[1]!.exitCode], ['preSwitch', 3]);
});

test('webhooks receive each event of the app as JSON', async (t) => {
  const received: { type: string; phase?: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => closeServer(receiver));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const s = await serve(t, `    webhooks: [${url}]`);
  await deploy(s, 'v1', []);
  await eventually(() => received.some((e) => e.type === 'deployment' && e.phase === 'done'), 5_000, 'done delivered');
  const phases = received.filter((e) => e.type === 'deployment').map((e) => e.phase);
  assert.deepEqual(phases, ['starting', 'health-gate', 'verifying', 'ready', 'switching', 'done']);
  assert.ok(received.some((e) => e.type === 'switch'));
});

test('preview: the candidate is reachable only with the secret, by header, cookie or the preview listener', async (t) => {
  const preview = `    switch: manual
    preview: { secret: ${SECRET}, listen: 127.0.0.1:0 }
    verify:
      - { path: /version, json: { version: "{{version}}" } }`;
  const s = await serve(t, preview);
  await deploy(s, 'v1', [], 'ready');
  await runCli(['--admin', s.adminUrl, 'switch', 'web']);
  assert.equal((await deploy(s, 'v2', [], 'ready')).phase, 'ready', 'verify passed, also through the preview route');

  assert.match(await text(s.proxyUrl), /hello from v1/);
  assert.match(await text(s.proxyUrl, { 'x-cutover-preview': 'wrong' }), /hello from v1/);
  assert.match(await text(s.proxyUrl, { 'x-cutover-preview': SECRET }), /hello from v2/);
  const on = await request(`${s.proxyUrl}/__cutover/preview?secret=${SECRET}`);
  const cookie = String(on.headers['set-cookie']).split(';')[0]!;
  assert.match(await text(s.proxyUrl, { cookie }), /hello from v2/);

  const previewUrl = /preview of web on (\S+)/.exec(s.output())?.[1];
  assert.ok(previewUrl, 'serve prints the preview listener');
  assert.match(await text(previewUrl), /hello from v2/, 'the preview listener serves the candidate without a secret');
});

test('pause holds new requests; resume releases them in order; a pause ends by itself at --max', async (t) => {
  const s = await serve(t, '');
  await deploy(s, 'v1', []);
  const cli = (...args: string[]) => runCli(['--admin', s.adminUrl, ...args]);
  const paused = await cli('pause', 'web', '--max', '20s');
  assert.equal(paused.code, 0, paused.stderr);
  const held = [0, 1, 2].map(() => text(s.proxyUrl));
  // Requests whose answers close their connections are held and released like the others (nginx's default upstream
  // protocol is HTTP/1.0; the last of a pipelined series may say Connection: close).
  const host = new URL(s.proxyUrl).host;
  const closing = [
    `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    `GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\nGET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
  ].map((bytes) => exchange(s.proxyUrl, bytes, { timeoutMs: 10_000 }));
  await eventually(async () => (await callApi<{ paused: { held: number } }>(s.adminUrl, 'GET', '/api/apps/web')).body.paused?.held === 7, 5_000, '7 held');
  assert.equal((await cli('resume', 'web')).code, 0);
  for (const body of await Promise.all(held)) assert.match(body, /hello from v1/);
  const answers = await Promise.all(closing);
  assert.deepEqual(JSON.stringify(answers.map((a) => [a.responses.map((r) => r.status), a.closed])), JSON.stringify([[[200], true], [[200], true], [[200, 200], true]]));

  await cli('pause', 'web', '--max', '1500ms');
  const until = (await callApi<{ paused: { until: number } }>(s.adminUrl, 'GET', '/api/apps/web')).body.paused.until;
  assert.match(await text(s.proxyUrl), /hello from v1/);
  const answered = Date.now();
  assert.ok(answered >= until - 20 && answered < until + 3_000, `held until the pause ended by itself (${answered - until} ms after its end)`);

  // Over before its answer comes back: said so, not a crash.
  const instant = await cli('pause', 'web', '--max', '1ms');
  assert.equal(instant.code, 0, instant.stderr);
  assert.match(instant.stdout, /paused, and already resumed/);
});

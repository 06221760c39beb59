// Control-plane security on a real cutover: named tokens with roles, who a control action is recorded as, the
// audit trail of every control action (refusals included, across a restart), and no CORS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Cutover } from '../src/main.ts';
import type { AuditRecord } from '../src/store/audit-record.ts';
import { callApi, configText, startCutover, tempDir, waitForDeployment, WEB_APP, type Running } from './support/cutover-harness.ts';
import { startUpstream } from './support/upstream.ts';

const CI = 'ci-token-0123456789abcdef';
const RO = 'grafana-token-0123456789abcdef';
const TOKENS = `admin: { listen: 127.0.0.1:0, tokens: [{ name: ci, token: ${CI}, role: admin }, { name: grafana, token: ${RO}, role: read }] }`;
const CONTROLS: readonly [path: string, body: object][] = [
  ['/api/apps/web/deployments', { version: 'v9', targets: ['http://127.0.0.1:1'] }],
  ['/api/apps/web/switch', {}],
  ['/api/apps/web/rollback', {}],
  ['/api/apps/web/pause', { maxMs: 1_000 }],
  ['/api/apps/web/resume', {}],
  ['/api/reload', {}],
];

type ErrorBody = { error: { code: string; message: string } };

test('a read token reads status, history, events, metrics and the audit, and gets 403 on every control action', async (t) => {
  const run = await startCutover(t, WEB_APP, TOKENS);
  for (const path of ['/api/apps', '/api/apps/web', '/api/apps/web/deployments', '/api/audit', '/metrics']) {
    const res = await request(run.adminUrl + path, { headers: { authorization: `Bearer ${RO}` } });
    assert.equal(res.statusCode, 200, path);
    await res.body.dump();
  }
  const events = await request(`${run.adminUrl}/api/events`, { headers: { authorization: `Bearer ${RO}` } });
  assert.equal(events.statusCode, 200);
  assert.match(String(events.headers['content-type']), /^text\/event-stream/);
  closeBody(events.body);
  for (const [path, body] of CONTROLS) {
    const res = await callApi<ErrorBody>(run.adminUrl, 'POST', path, body, RO);
    assert.equal(res.status, 403, path);
    assert.equal(res.body.error.code, 'FORBIDDEN', path);
    assert.match(res.body.error.message, /the token "grafana" is read-only/, path);
  }
  assert.equal(run.cutover.controller.app('web').pausedUntil, null, 'the refused pause changed nothing');
  const audit = await auditOf(run, RO);
  assert.deepEqual(audit.map((e) => [e.action, e.who, e.outcome]).reverse(), [
    ['deploy', 'token:grafana', 'FORBIDDEN'],
    ['switch', 'token:grafana', 'FORBIDDEN'],
    ['rollback', 'token:grafana', 'FORBIDDEN'],
    ['pause', 'token:grafana', 'FORBIDDEN'],
    ['resume', 'token:grafana', 'FORBIDDEN'],
    ['reload', 'token:grafana', 'FORBIDDEN'],
  ]);
});

test('an admin token deploys and switches; the history and the audit name the token, not the body', async (t) => {
  const run = await startCutover(t, WEB_APP, TOKENS);
  const [v1, v2] = [await startUpstream(t, 'v1'), await startUpstream(t, 'v2')];
  const who = 'cli:alice';
  await deployWith(run, CI, { version: 'v1', targets: [v1.url], who }, 'done');
  await deployWith(run, CI, { version: 'v2', targets: [v2.url], switch: false, who }, 'ready');
  const switched = await callApi(run.adminUrl, 'POST', '/api/apps/web/switch', { who: 'token:someone-else' }, CI);
  assert.equal(switched.status, 200);
  const history = await callApi<{ who: string }[]>(run.adminUrl, 'GET', '/api/apps/web/deployments', undefined, CI);
  assert.deepEqual(history.body.map((d) => d.who), ['token:ci', 'token:ci']);
  const audit = await auditOf(run, CI);
  assert.deepEqual(audit.map((e) => [e.action, e.who, e.app, e.outcome]), [
    ['switch', 'token:ci', 'web', 'ok'],
    ['deploy', 'token:ci', 'web', 'ok'],
    ['deploy', 'token:ci', 'web', 'ok'],
  ]);
  assert.equal(audit[0]!.detail, 'green is live (v2)');
  assert.match(audit[1]!.detail, /^v2 to green, deployment \S+, no switch$/);
  assert.ok(audit.every((e, i) => i === 0 || e.at <= audit[i - 1]!.at), 'newest first');
  assert.deepEqual((await auditOf(run, CI, '?limit=1')).map((e) => e.action), ['switch']);
});

test('a wrong or missing token gets 401 and is not recorded; a refused action is recorded with its code', async (t) => {
  const run = await startCutover(t, WEB_APP, TOKENS);
  for (const token of [undefined, 'not-a-configured-token-at-all', `${CI}x`, CI.slice(0, -1)]) {
    const res = await callApi<ErrorBody>(run.adminUrl, 'POST', '/api/apps/web/pause', {}, token);
    assert.equal(res.status, 401, String(token));
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
  }
  const basic = await request(`${run.adminUrl}/api/apps`, { headers: { authorization: `Basic ${Buffer.from(`ci:${CI}`).toString('base64')}` } });
  assert.equal(basic.statusCode, 401);
  assert.equal(basic.headers['www-authenticate'], 'Bearer');
  await basic.body.dump();
  assert.equal(run.cutover.controller.app('web').pausedUntil, null);
  assert.equal((await callApi(run.adminUrl, 'POST', '/api/apps/web/resume', {}, CI)).status, 409);
  assert.equal((await callApi(run.adminUrl, 'POST', '/api/apps/nope/switch', {}, CI)).status, 404);
  const audit = await auditOf(run, CI);
  assert.deepEqual(audit.map((e) => [e.action, e.app, e.outcome, e.detail]), [
    ['switch', 'nope', 'NOT_FOUND', 'no app named "nope"'],
    ['resume', 'web', 'NOT_PAUSED', 'app "web" is not paused'],
  ]);
});

test('without tokens the caller is local; a body cannot claim a token, only add a hint', async (t) => {
  const run = await startCutover(t);
  const v1 = await startUpstream(t, 'v1');
  const started = await run.api<{ deployment: { id: string } }>('POST', '/api/apps/web/deployments', { version: 'v1', targets: [v1.url], who: 'token:ci' });
  assert.equal(started.status, 202);
  await waitForDeployment(run, started.body.deployment.id);
  assert.equal((await run.api('POST', '/api/apps/web/pause', { maxMs: 5_000 })).status, 200);
  assert.equal((await run.api('POST', '/api/apps/web/resume', { who: 'cli:\u001b[31malice\n' })).status, 200);
  assert.equal((await run.api<ErrorBody>('POST', '/api/apps/web/pause', { who: 42 })).status, 400);
  const history = await run.api<{ who: string }[]>('GET', '/api/apps/web/deployments');
  assert.equal(history.body[0]!.who, 'local (token:ci)');
  const audit = await auditOf(run);
  assert.deepEqual(audit.map((e) => [e.action, e.who, e.outcome]), [
    ['pause', 'local', 'BAD_REQUEST'],
    ['resume', 'local (cli:[31malice)', 'ok'],
    ['pause', 'local', 'ok'],
    ['deploy', 'local (token:ci)', 'ok'],
  ]);
  assert.equal(audit[2]!.detail, 'new requests held for at most 5s');
});

test('no CORS: a preflight gets 405 and no response carries an Access-Control header', async (t) => {
  for (const admin of ['', TOKENS]) {
    const run = await startCutover(t, WEB_APP, admin);
    const origin = { origin: 'https://evil.example' };
    const preflight = await request(`${run.adminUrl}/api/apps/web/switch`, {
      method: 'OPTIONS',
      headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(preflight.statusCode, 405);
    assert.equal(preflight.headers.allow, 'GET, HEAD, POST');
    assert.equal(((await preflight.body.json()) as ErrorBody).error.code, 'METHOD_NOT_ALLOWED');
    assertNoCors(preflight.headers, 'preflight');
    const token = admin === '' ? {} : { authorization: `Bearer ${CI}` };
    for (const path of ['/api/apps', '/api/nope', '/api/audit', '/metrics', '/healthz', '/', '/api/events']) {
      const res = await request(run.adminUrl + path, { headers: { ...origin, ...token } });
      assertNoCors(res.headers, path);
      closeBody(res.body);
    }
    const write = await request(`${run.adminUrl}/api/apps/web/pause`, { method: 'POST', headers: { ...origin, ...token, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(write.statusCode, 200);
    assertNoCors(write.headers, 'a write');
    await write.body.dump();
  }
});

test('the audit trail survives a restart', async (t) => {
  const dir = tempDir(t);
  const configPath = join(dir, 'cutover.yaml');
  writeFileSync(configPath, configText(dir, WEB_APP, TOKENS));
  const first = await Cutover.start({ config: await loadConfig(configPath), log: silentLogger });
  let firstStopped = false;
  t.after(() => (firstStopped ? undefined : first.stop()));
  assert.equal((await callApi(first.adminUrl, 'POST', '/api/apps/web/pause', { maxMs: 2_000 }, CI)).status, 200);
  assert.equal((await callApi(first.adminUrl, 'POST', '/api/apps/web/switch', {}, RO)).status, 403);
  assert.equal((await callApi(first.adminUrl, 'POST', '/api/reload', {}, CI)).status, 200);
  const before = (await callApi<AuditRecord[]>(first.adminUrl, 'GET', '/api/audit', undefined, RO)).body;
  await first.stop();
  firstStopped = true;
  const second = await Cutover.start({ config: await loadConfig(configPath), log: silentLogger });
  t.after(() => second.stop());
  const after = await callApi<AuditRecord[]>(second.adminUrl, 'GET', '/api/audit', undefined, RO);
  assert.equal(after.body.length, 3);
  assert.deepEqual(after.body, before);
  assert.deepEqual(after.body.map((e) => [e.action, e.who, e.app, e.outcome]), [
    ['reload', 'token:ci', null, 'ok'],
    ['switch', 'token:grafana', 'web', 'FORBIDDEN'],
    ['pause', 'token:ci', 'web', 'ok'],
  ]);
  const onlyWeb = await callApi<AuditRecord[]>(second.adminUrl, 'GET', '/api/audit?app=web', undefined, RO);
  assert.deepEqual(onlyWeb.body.map((e) => e.action), ['switch', 'pause']);
});

async function deployWith(run: Running, token: string, body: object, until: string): Promise<void> {
  const started = await callApi<{ deployment: { id: string } }>(run.adminUrl, 'POST', '/api/apps/web/deployments', body, token);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const deployment = await waitForDeploymentWith(run, token, started.body.deployment.id, until);
  assert.equal(deployment, until);
}

// waitForDeployment of the harness sends no token.
async function waitForDeploymentWith(run: Running, token: string, id: string, until: string): Promise<string> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const d = await callApi<{ phase: string }>(run.adminUrl, 'GET', `/api/apps/web/deployments/${id}`, undefined, token);
    if (d.body.phase === until || ['failed', 'done', 'rolled-back'].includes(d.body.phase)) return d.body.phase;
  }
  throw new Error(`deployment ${id} did not reach ${until}`);
}

async function auditOf(run: Running, token?: string, query = ''): Promise<AuditRecord[]> {
  const res = await callApi<AuditRecord[]>(run.adminUrl, 'GET', `/api/audit${query}`, undefined, token);
  assert.equal(res.status, 200);
  return res.body;
}

/** Ends a response body, the event stream too (which never ends by itself). */
function closeBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function assertNoCors(headers: Record<string, unknown>, what: string): void {
  const cors = Object.keys(headers).filter((name) => name.toLowerCase().startsWith('access-control-'));
  assert.deepEqual(cors, [], `${what} sent ${cors.join(', ')}`);
}

// The admin API's contract: JSON errors with codes and fitting statuses, the token, BUSY, events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { callApi, deploy, processApp, startCutover, waitForDeployment, WEB_APP } from './support/cutover-harness.ts';
import { startUpstream } from './support/upstream.ts';
import { exchange } from './support/raw-http.ts';

const TOKEN = 'a-test-token-of-enough-length';

test('errors are JSON with a code and a fitting status', async (t) => {
  const run = await startCutover(t);
  const cases = [
    { desc: 'unknown endpoint', method: 'GET', path: '/api/nope', status: 404, code: 'NOT_FOUND' },
    { desc: 'unknown app', method: 'GET', path: '/api/apps/nope', status: 404, code: 'NOT_FOUND' },
    { desc: 'missing version', method: 'POST', path: '/api/apps/web/deployments', body: {}, status: 400, code: 'BAD_REQUEST' },
    { desc: 'targets not a list', method: 'POST', path: '/api/apps/web/deployments', body: { version: 'v1', targets: 'x' }, status: 400, code: 'BAD_REQUEST' },
    { desc: 'nothing to switch to', method: 'POST', path: '/api/apps/web/switch', body: {}, status: 409, code: 'NO_CANDIDATE' },
    { desc: 'nothing to roll back', method: 'POST', path: '/api/apps/web/rollback', body: {}, status: 409, code: 'NO_STANDBY' },
    { desc: 'a pause of no length', method: 'POST', path: '/api/apps/web/pause', body: { maxMs: 'long' }, status: 400, code: 'BAD_REQUEST' },
    { desc: 'resume when not paused', method: 'POST', path: '/api/apps/web/resume', body: {}, status: 409, code: 'NOT_PAUSED' },
    { desc: 'unknown deployment', method: 'GET', path: '/api/apps/web/deployments/x', status: 404, code: 'NOT_FOUND' },
    { desc: 'a limit that is not a number', method: 'GET', path: '/api/apps/web/deployments?limit=abc', status: 400, code: 'BAD_REQUEST' },
    { desc: 'a limit below 1', method: 'GET', path: '/api/audit?limit=-1', status: 400, code: 'BAD_REQUEST' },
    { desc: 'GET of a control endpoint', method: 'GET', path: '/api/apps/web/switch', status: 405, code: 'METHOD_NOT_ALLOWED' },
    { desc: 'POST of a read endpoint', method: 'POST', path: '/api/apps/web/deployments/x', body: {}, status: 405, code: 'METHOD_NOT_ALLOWED' },
    { desc: 'a mistyped field, which would be ignored into switching', method: 'POST', path: '/api/apps/web/deployments', body: { version: 'v1', swtich: false }, status: 400, code: 'BAD_REQUEST', message: 'unknown field "swtich" in the body: did you mean "switch"?' },
    { desc: 'a field a call does not take', method: 'POST', path: '/api/apps/web/resume', body: { force: true }, status: 400, code: 'BAD_REQUEST', message: 'unknown field "force" in the body: this call takes "who"' },
  ] as const;
  for (const c of cases) {
    const res = await run.api<{ error: { code: string; message: string } }>(c.method, c.path, 'body' in c ? c.body : undefined);
    assert.equal(res.status, c.status, c.desc);
    assert.equal(res.body.error.code, c.code, c.desc);
    assert.ok(res.body.error.message.length > 0, c.desc);
    if ('message' in c) assert.equal(res.body.error.message, c.message, c.desc);
  }
});

// Request targets no HTTP client sends: one of them (a protocol-relative URL with a bad port) once ended cutover.
test('a request target that is not a path, or a path with a malformed escape, gets 400 and cutover goes on', async (t) => {
  const run = await startCutover(t);
  const targets = ['//x:99999/', '//admin/api/apps', '*', 'http://x:99999/api/apps', '/api/apps/%E0%A4%A', '/api/apps/%ZZ/switch', '/api/apps/web/deployments/%ZZ', '/api/apps/%ZZ/traffic', '/api/apps/%ZZ/logs'];
  for (const target of targets) {
    const method = target.endsWith('/switch') ? 'POST' : 'GET';
    const sent = await exchange(run.adminUrl, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
    const [res] = sent.responses;
    assert.equal(res?.status, 400, `${target}: ${sent.raw.toString('latin1').slice(0, 200)}`);
    assert.equal((JSON.parse(res!.body.toString()) as { error: { code: string } }).error.code, 'BAD_REQUEST', target);
  }
  assert.equal((await run.api('GET', '/api/apps')).status, 200, 'still serving');
});

test('targets for an app whose driver starts its own are refused naming the "targets" field, not a CLI flag', async (t) => {
  const run = await startCutover(t, processApp());
  const res = await run.api<{ error: { code: string; message: string } }>('POST', '/api/apps/web/deployments', { version: 'v1', targets: ['http://127.0.0.1:3001'] });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'BAD_REQUEST');
  assert.equal(res.body.error.message, `this app's process driver starts its own targets; "targets" is only for static apps`);
});

test('a method an endpoint does not answer gets 405 with the methods it does', async (t) => {
  const run = await startCutover(t);
  const res = await request(`${run.adminUrl}/api/apps/web/switch`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.statusCode, 405);
  assert.equal(res.headers.allow, 'POST');
  assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
  const deployments = await request(`${run.adminUrl}/api/apps/web/deployments`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(deployments.headers.allow, 'GET, HEAD, POST');
  await deployments.body.dump();
  // Without a body or its type, as curl -X DELETE sends it: still the method that is wrong, not the type.
  const removal = await request(`${run.adminUrl}/api/apps/web`, { method: 'DELETE' });
  assert.equal(removal.statusCode, 405);
  assert.equal(removal.headers.allow, 'GET, HEAD');
  await removal.body.dump();
});

test('HEAD of a read endpoint answers as its GET does, without the body', async (t) => {
  const run = await startCutover(t);
  for (const path of ['/api/apps', '/api/apps/web', '/api/apps/web/traffic']) {
    const get = await request(`${run.adminUrl}${path}`);
    const body = await get.body.text();
    const head = await request(`${run.adminUrl}${path}`, { method: 'HEAD' });
    assert.equal(head.statusCode, 200, path);
    assert.equal(head.headers['content-type'], get.headers['content-type'], path);
    assert.equal(await head.body.text(), '', `${path}: no body`);
    if (path !== '/api/apps/web/traffic') assert.equal(head.headers['content-length'], String(Buffer.byteLength(body)), path);
  }
  for (const path of ['/api/events', '/api/apps/web/logs']) {
    const stream = await request(`${run.adminUrl}${path}`, { method: 'HEAD' });
    assert.deepEqual([stream.statusCode, stream.headers.allow], [405, 'GET'], `${path} streams: GET only`);
    await stream.body.dump();
  }
  const missing = await request(`${run.adminUrl}/api/apps/nope`, { method: 'HEAD' });
  assert.equal(missing.statusCode, 404);
  await missing.body.dump();
});

test('a body that is not JSON gets 400 BAD_REQUEST', async (t) => {
  const run = await startCutover(t);
  const res = await request(`${run.adminUrl}/api/apps/web/deployments`, { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
  assert.equal(res.statusCode, 400);
  assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
});

test('a page in a browser cannot drive the API: writes need JSON, and without a token the Host must be loopback', async (t) => {
  const run = await startCutover(t);
  const form = await request(`${run.adminUrl}/api/apps/web/pause`, { method: 'POST', body: 'maxMs=600000', headers: { 'content-type': 'text/plain' } });
  assert.equal(form.statusCode, 415);
  await form.body.dump();
  const rebound = await request(`${run.adminUrl}/api/apps`, { headers: { host: 'evil.example:9900' } });
  assert.equal(rebound.statusCode, 403);
  assert.equal(((await rebound.body.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  const local = await request(`${run.adminUrl}/api/apps`, { headers: { host: 'localhost:9900' } });
  assert.equal(local.statusCode, 200);
  await local.body.dump();
  assert.equal(run.cutover.controller.app('web').pausedUntil, null);
});

test('a second control operation while a deployment runs gets BUSY', async (t) => {
  const run = await startCutover(t);
  const v1 = await startUpstream(t, 'v1');
  await deploy(run, 'v1', [v1.url]);
  const slow = await startUpstream(t, 'v2');
  slow.healthy = false;
  const first = await run.api('POST', '/api/apps/web/deployments', { version: 'v2', targets: [slow.url] });
  assert.equal(first.status, 202);
  for (const [path, body] of [
    ['/api/apps/web/deployments', { version: 'v3', targets: [v1.url] }],
    ['/api/apps/web/rollback', {}],
    ['/api/apps/web/switch', {}],
  ] as const) {
    const res = await run.api<{ error: { code: string; message: string } }>('POST', path, body);
    assert.equal(res.status, 409, path);
    assert.equal(res.body.error.code, 'BUSY', path);
    assert.match(res.body.error.message, /the deployment of v2 is in progress/);
  }
  const status = await run.api<{ busy: string }>('GET', '/api/apps/web');
  assert.equal(status.body.busy, 'the deployment of v2');
});

// A deployment's phase is stored (and readable) before its last steps run: here v2's postSwitch hook takes 0.6 s.
// A call sent on seeing `done` waits for them instead of being refused as BUSY; one during a deployment on its way
// is still refused at once (above).
test('a rollback sent as soon as a deployment is done waits for its last steps rather than getting BUSY', async (t) => {
  const run = await startCutover(t, `${WEB_APP}
    hooks: { postSwitch: 'if [ "$CUTOVER_VERSION" = v2 ]; then sleep 0.6; fi' }`);
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await deploy(run, 'v1', [v1.url]);
  const started = await run.api<{ deployment: { id: string } }>('POST', '/api/apps/web/deployments', { version: 'v2', targets: [v2.url] });
  assert.equal(started.status, 202);
  assert.equal((await waitForDeployment(run, started.body.deployment.id, 'done', 10_000)).phase, 'done');
  assert.equal((await run.api<{ busy: string | null }>('GET', '/api/apps/web')).body.busy, 'the deployment of v2', 'its hook still runs');
  const sentAt = performance.now();
  const rolledBack = await run.api<{ live: string }>('POST', '/api/apps/web/rollback', {});
  assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
  assert.equal(rolledBack.body.live, 'blue');
  t.diagnostic(`the rollback waited ${Math.round(performance.now() - sentAt)} ms for the postSwitch hook`);
});

test('two switches sent at once, each saying what it saw live: one flips, the other is refused and undoes nothing', async (t) => {
  const run = await startCutover(t);
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  await deploy(run, 'v1', [blue.url]);
  await deploy(run, 'v2', [green.url], 'ready', { switch: false });
  const both = await Promise.all([1, 2].map(() => run.api<{ live?: string; error?: { code: string } }>('POST', '/api/apps/web/switch', { from: 'blue' })));
  const statuses = both.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 409], JSON.stringify(both));
  assert.equal(both.find((r) => r.status === 409)!.body.error!.code, 'LIVE_CHANGED');
  assert.equal((await run.api<{ live: string }>('GET', '/api/apps/web')).body.live, 'green');
  const bad = await run.api<{ error: { code: string; message: string } }>('POST', '/api/apps/web/rollback', { from: 'purple' });
  assert.deepEqual([bad.status, bad.body.error.code], [400, 'BAD_REQUEST']);
  assert.match(bad.body.error.message, /"from" must be "blue", "green" or null/);
});

// A confirmation shown for v2, confirmed after v3 was deployed in its place: the switch must not make v3 live.
test('a switch or rollback naming the version it means is refused when another one is there now', async (t) => {
  const run = await startCutover(t);
  const [v1, v2, v3] = await Promise.all(['v1', 'v2', 'v3'].map((v) => startUpstream(t, v)));
  await deploy(run, 'v1', [v1.url]);
  await deploy(run, 'v2', [v2.url], 'ready', { switch: false });
  await deploy(run, 'v3', [v3.url], 'ready', { switch: false });
  const stale = await run.api<{ error: { code: string; message: string } }>('POST', '/api/apps/web/switch', { from: 'blue', version: 'v2' });
  assert.deepEqual([stale.status, stale.body.error.code], [409, 'VERSION_CHANGED']);
  assert.equal(stale.body.error.message, 'app "web": the candidate on green is v3 now, not v2; nothing was done');
  assert.equal((await run.api<{ live: string }>('GET', '/api/apps/web')).body.live, 'blue');
  const meant = await run.api<{ live: string }>('POST', '/api/apps/web/switch', { from: 'blue', version: 'v3' });
  assert.deepEqual([meant.status, meant.body.live], [200, 'green']);
  const back = await run.api<{ error: { code: string } }>('POST', '/api/apps/web/rollback', { version: 'v0' });
  assert.deepEqual([back.status, back.body.error.code], [409, 'VERSION_CHANGED']);
  assert.equal((await run.api<{ live: string }>('POST', '/api/apps/web/rollback', { version: 'v1' })).body.live, 'blue');
  const bad = await run.api<{ error: { code: string; message: string } }>('POST', '/api/apps/web/switch', { version: 3 });
  assert.deepEqual([bad.status, bad.body.error.message], [400, '"version" must be a non-empty string']);
});

test('with a token, every call but /healthz needs it', async (t) => {
  const run = await startCutover(t, WEB_APP, `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`);
  assert.equal((await request(`${run.adminUrl}/healthz`)).statusCode, 200);
  for (const path of ['/api/apps', '/api/events', '/metrics']) {
    const res = await request(run.adminUrl + path);
    assert.equal(res.statusCode, 401, path);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    await res.body.dump();
  }
  assert.equal((await callApi(run.adminUrl, 'GET', '/api/apps', undefined, 'wrong-token-of-enough-size')).status, 401);
  assert.equal((await callApi(run.adminUrl, 'GET', '/api/apps', undefined, TOKEN)).status, 200);
});

test('the event stream delivers deployment phases and the switch', async (t) => {
  const run = await startCutover(t);
  const v1 = await startUpstream(t, 'v1');
  const stream = await request(`${run.adminUrl}/api/events?app=web`);
  assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
  let text = '';
  const seen = (async () => {
    for await (const chunk of stream.body) {
      text += chunk;
      // The phase `done` is stored and emitted after the switch, once the switch is on disk.
      if (text.includes('"phase":"done"')) return;
    }
  })();
  await deploy(run, 'v1', [v1.url]);
  await seen;
  stream.body.destroy();
  for (const phase of ['starting', 'health-gate', 'ready', 'switching', 'done']) assert.match(text, new RegExp(`"phase":"${phase}"`));
  assert.match(text, /^id: \d+$/m);
});

test('/metrics is Prometheus text with app and env labels', async (t) => {
  const run = await startCutover(t);
  const v1 = await startUpstream(t, 'v1');
  await deploy(run, 'v1', [v1.url]);
  const res = await request(`${run.adminUrl}/metrics`);
  const text = await res.body.text();
  assert.match(text, /^cutover_app_live\{app="web",env="blue"\} 1$/m);
  assert.match(text, /^cutover_app_live\{app="web",env="green"\} 0$/m);
  assert.match(text, new RegExp(`^cutover_target_healthy\\{app="web",env="blue",target="${v1.url}"\\} 1$`, 'm'));
});

test('a pause asked while this cutover hands over to its successor is refused BUSY: what it held would be refused', async (t) => {
  const run = await startCutover(t);
  run.cutover.controller.handingOver = true;
  const refused = await run.api<{ error: { code: string; message: string } }>('POST', '/api/apps/web/pause', { maxMs: 5_000 });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'BUSY');
  assert.match(refused.body.error.message, /restart in place/);
  run.cutover.controller.handingOver = false;
  assert.equal((await run.api('POST', '/api/apps/web/pause', { maxMs: 5_000 })).status, 200);
});

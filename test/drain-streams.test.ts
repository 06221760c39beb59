// What is still open on the old environment when a switch's drain time is over: a long poll not yet answered gets
// 503 with `retry-after: 0` (so it retries against the new live env), a chunked stream (SSE) ends cleanly, and a
// body with a Content-Length is cut (ending it early would read as complete). Each request is found through the
// pool's in-flight list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, spawnServe, tempDir } from './support/cutover-harness.ts';
import { startUpstream } from './support/upstream.ts';

const APP = `  web:
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 2, unhealthy: 2, deadline: 3s }
    drain: 600ms
    drainJitter: 0s`;

test('at the end of the drain: a long poll gets 503 and retry-after 0, an SSE stream ends cleanly, a sized download is cut', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, APP));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  const blue = await startUpstream(t, 'blue', (req, res) => {
    if (req.url === '/poll') return; // never answers
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      return; // stays open
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1_000 });
    res.write(Buffer.alloc(10)); // 10 of 1,000 bytes, then nothing
  });
  const green = await startUpstream(t, 'green');
  await deploy(serve, 'v1', [blue.url]);
  await deploy(serve, 'v2', [green.url], 'ready', { switch: false });

  const poll = request(`${serve.proxyUrl}/poll`, { headersTimeout: 10_000 }).then(async (res) => ({ status: res.statusCode, retryAfter: res.headers['retry-after'], body: await res.body.text() }));
  const sse = await request(`${serve.proxyUrl}/sse`, { bodyTimeout: 10_000 });
  const sseBody = sse.body.text();
  const download = await request(`${serve.proxyUrl}/download`, { bodyTimeout: 10_000 });
  const downloadBody = download.body.arrayBuffer().then(() => 'complete', (err: Error) => `cut: ${err.message}`);
  await new Promise((r) => setTimeout(r, 200));

  const switchedAt = Date.now();
  assert.equal((await callApi<{ live: string }>(serve.adminUrl, 'POST', '/api/apps/web/switch', {})).body.live, 'green');

  const polled = await poll;
  assert.equal(polled.status, 503);
  assert.equal(polled.retryAfter, '0');
  assert.match(polled.body, /^DRAINED/);
  assert.ok(Date.now() - switchedAt >= 500, 'not before the drain time');
  assert.equal(await sseBody, 'data: one\n\n', 'the stream ended cleanly, with what was sent');
  assert.match(await downloadBody, /^cut: /, 'a sized body is not ended early as if complete');
  assert.equal(await (await request(serve.proxyUrl)).body.text(), 'green');
});

// SIGTERM: stop accepting, let requests in flight finish (up to the drain time), exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { configText, deploy, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
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

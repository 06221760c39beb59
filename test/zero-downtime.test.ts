// The product's promise: switching and rolling back under load fails no request, and every response comes from
// an environment that was live at some moment while that request was being routed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, configText, deploy, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { countBy, runLoad, type Sample } from './support/load.ts';
import { startUpstream } from './support/upstream.ts';

interface Flip {
  readonly color: string;
  readonly start: number;
  readonly end: number;
}

test('50 keep-alive clients for 10 s through 20+ switches and rollbacks: every response 2xx from a live env', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  const blue = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue')];
  const green = [await startUpstream(t, 'green'), await startUpstream(t, 'green')];
  assert.equal((await deploy(serve, 'v1', blue.map((u) => u.url))).phase, 'done');
  assert.equal((await deploy(serve, 'v2', green.map((u) => u.url))).phase, 'done');

  const flips: Flip[] = [{ color: 'green', start: -Infinity, end: -Infinity }];
  const load = runLoad({ url: serve.proxyUrl, clients: 50, durationMs: 10_000 });
  for (let i = 0; i < 24; i++) {
    await new Promise((r) => setTimeout(r, 350));
    const action = i % 2 === 0 ? 'rollback' : 'switch';
    const start = performance.now();
    const res = await callApi<{ live: string }>(serve.adminUrl, 'POST', `/api/apps/web/${action}`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    flips.push({ color: res.body.live, start, end: performance.now() });
  }
  const samples = await load;

  const statuses = countBy(samples, (s) => (s.error ? `error: ${s.error}` : String(s.status)));
  const colours = countBy(samples, (s) => s.body);
  t.diagnostic(`${samples.length} requests, ${flips.length - 1} flips; statuses ${JSON.stringify(statuses)}; bodies ${JSON.stringify(colours)}`);
  assert.deepEqual(Object.keys(statuses), ['200'], `every response 2xx: ${JSON.stringify(statuses)}`);
  assert.ok(samples.length > 1_000, 'the load ran');
  const misrouted = samples.filter((s) => !wasLive(flips, s));
  assert.equal(misrouted.length, 0, `responses from an environment that was not live: ${JSON.stringify(misrouted.slice(0, 3))}`);
  assert.ok(colours.blue! > 0 && colours.green! > 0, 'both environments served');
});

test('a 2 s request started before a switch completes with 200 from the old environment', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  const slow = (name: string) => startUpstream(t, name, (_req, res) => setTimeout(() => res.end(name), 2_000));
  const blue = await slow('blue');
  const green = await slow('green');
  await deploy(serve, 'v1', [blue.url]);
  // v2 switches itself live (no bake: done right after); the rollback then makes blue live and green standby.
  assert.equal((await deploy(serve, 'v2', [green.url])).phase, 'done');
  assert.equal((await callApi(serve.adminUrl, 'POST', '/api/apps/web/rollback', {})).status, 200);

  const inFlight = request(serve.proxyUrl).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
  await new Promise((r) => setTimeout(r, 300));
  const flipped = await callApi<{ live: string }>(serve.adminUrl, 'POST', '/api/apps/web/switch', {});
  assert.equal(flipped.body.live, 'green');
  assert.deepEqual(await inFlight, { status: 200, body: 'blue' });
  const after = await request(serve.proxyUrl);
  assert.equal(await after.body.text(), 'green');
});

/** True when the colour that answered was live at some moment between the request's start and its end. */
function wasLive(flips: readonly Flip[], s: Sample): boolean {
  for (let i = 0; i < flips.length; i++) {
    if (flips[i]!.color !== s.body) continue;
    // Live from when its flip was asked for until the next flip had surely taken effect.
    const from = flips[i]!.start;
    const until = i + 1 < flips.length ? flips[i + 1]!.end : Infinity;
    if (s.start <= until && s.end >= from) return true;
  }
  return false;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { cookieFor, previewAccess } from './preview.ts';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { startUpstream } from '../../test/support/upstream.ts';

const SECRET = 'preview-secret-0123456789';
const preview = { header: 'x-cutover-preview', secret: SECRET };

async function withPreview(t: Parameters<typeof startProxy>[0]) {
  const echo = (name: string) =>
    startUpstream(t, name, (req, res) => res.end(JSON.stringify({ name, preview: req.headers['x-cutover-preview'] ?? null, cookie: req.headers.cookie ?? null })));
  const blue = await echo('blue');
  const green = await echo('green');
  const h = await startProxy(t);
  h.route('blue', [blue.url], [green.url], { preview });
  const get = async (headers: Record<string, string> = {}, path = '/') => {
    const res = await request(h.url + path, { headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };
  return { h, get };
}

test('the preview header with the right secret reaches the candidate; without it the header is stripped', async (t) => {
  const { get } = await withPreview(t);
  const cases: { desc: string; headers: Record<string, string>; name: string }[] = [
    { desc: 'no header', headers: {}, name: 'blue' },
    { desc: 'right secret', headers: { 'x-cutover-preview': SECRET }, name: 'green' },
    { desc: 'wrong secret', headers: { 'x-cutover-preview': 'guess' }, name: 'blue' },
    { desc: 'secret with a different length', headers: { 'x-cutover-preview': SECRET + 'x' }, name: 'blue' },
  ];
  for (const c of cases) {
    const body = JSON.parse((await get(c.headers)).body);
    assert.equal(body.name, c.name, c.desc);
    assert.equal(body.preview, null, `${c.desc}: the preview header never reaches the app`);
  }
});

test('/__cutover/preview?secret= sets a cookie that reaches the candidate; /off clears it', async (t) => {
  const { get } = await withPreview(t);
  const denied = await get({}, '/__cutover/preview?secret=guess');
  assert.equal(denied.status, 403);
  const on = await get({}, `/__cutover/preview?secret=${SECRET}`);
  assert.equal(on.status, 302);
  const setCookie = String(on.headers['set-cookie']);
  assert.match(setCookie, /^cutover-preview=\d+\.[\w-]+; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/);
  assert.doesNotMatch(setCookie, new RegExp(SECRET), 'the cookie does not carry the secret');
  const cookie = `theme=dark; ${setCookie.split(';')[0]}`;
  const body = JSON.parse((await get({ cookie })).body);
  assert.deepEqual([body.name, body.cookie], ['green', 'theme=dark']);
  const forged = JSON.parse((await get({ cookie: 'cutover-preview=forged' })).body);
  assert.deepEqual([forged.name, forged.cookie], ['blue', null]);
  const expired = cookieFor(previewAccess('web', 'x-cutover-preview', SECRET), Date.now() - 1);
  assert.equal(JSON.parse((await get({ cookie: `cutover-preview=${expired}` })).body).name, 'blue', 'an expired cookie is ignored');
  const otherApp = cookieFor(previewAccess('shop', 'x-cutover-preview', SECRET), Date.now() + 60_000);
  assert.equal(JSON.parse((await get({ cookie: `cutover-preview=${otherApp}` })).body).name, 'blue', 'a cookie of another app is ignored');
  const off = await get({}, '/__cutover/preview/off');
  assert.match(String(off.headers['set-cookie']), /^cutover-preview=; Path=\/; Max-Age=0/);
});

test('an app without preview ignores the header and serves the special paths from the app', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const h = await startProxy(t);
  h.route('blue', [blue.url], [green.url]);
  const res = await request(`${h.url}/__cutover/preview?secret=${SECRET}`, { headers: { 'x-cutover-preview': SECRET } });
  assert.equal(await res.body.text(), 'blue');
});

test('with no candidate (its environment has no targets: retired, failed) the preview header reaches live, not an error', async (t) => {
  const { h, get } = await withPreview(t);
  h.route('blue', [(await startUpstream(t, 'live')).url], [], { preview });
  const res = await get({ 'x-cutover-preview': SECRET });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'live');
});

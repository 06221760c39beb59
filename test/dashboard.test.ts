// The dashboard at the admin listener's `/`, in a real Chromium against a real cutover with real upstreams.
// Set UPDATE_DOCS_SCREENSHOT=1 to write docs/dashboard.png from the "during a deploy" test.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, deploy, eventually, ROOT, startCutover, WEB_APP, type Running } from './support/cutover-harness.ts';
import { startUpstream, type Upstream } from './support/upstream.ts';
import { runLoad } from './support/load.ts';
import { envPanel, openPage, screenshot, waitForText } from './support/browser.ts';
import { appTraffic } from '../src/admin/dashboard-route.ts';
import { StatsRegistry } from '../src/stats/stats-registry.ts';

const TOKEN = 'dashboard-test-token-0123456789';
const T = { timeout: 60_000 };

test('the page and its assets: a strict CSP, no CORS, no token needed; traffic needs it', T, async (t) => {
  const run = await startCutover(t, WEB_APP, `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`);
  const page = await request(run.adminUrl + '/', { headers: { origin: 'https://evil.example' } });
  assert.equal(page.statusCode, 200, `GET / on the admin listener: is serveDashboardAsset wired into admin-server.ts?`);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const csp = String(page.headers['content-security-policy']);
  for (const rule of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(rule), csp);
  assert.equal(page.headers['access-control-allow-origin'], undefined);
  const html = await page.body.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|style=|https?:\/\//, 'no inline script or style, nothing from elsewhere');
  const script = await request(run.adminUrl + '/assets/dashboard.js');
  assert.equal(script.statusCode, 200);
  assert.match(String(script.headers['content-type']), /^text\/javascript/);
  const etag = String(script.headers.etag);
  await script.body.dump();
  assert.equal((await request(run.adminUrl + '/assets/dashboard.js', { headers: { 'if-none-match': etag } })).statusCode, 304);
  for (const path of ['/assets/../main.ts', '/assets/nope.js', '/assets/dashboard-route.ts']) {
    const res = await request(run.adminUrl + path);
    await res.body.dump();
    assert.ok([401, 404].includes(res.statusCode), `${path} answered ${res.statusCode}`);
  }
  assert.equal((await callApi(run.adminUrl, 'GET', '/api/apps/web/traffic')).status, 401);
  assert.equal((await callApi(run.adminUrl, 'GET', '/api/apps/nope/traffic', undefined, TOKEN)).status, 404);
  const traffic = await callApi<TrafficBody>(run.adminUrl, 'GET', '/api/apps/web/traffic?seconds=10', undefined, TOKEN);
  assert.equal(traffic.status, 200);
  assert.equal(traffic.body.envs.blue.points.length, 10);
  assert.deepEqual(Object.keys(traffic.body.envs.green).sort(), ['errorRate', 'p99Ms', 'points', 'requests', 'rps', 'share']);
});

test('traffic figures: per second over the last five, the share of each environment, gaps as null', () => {
  const now = 1_700_000_010_500;
  const stats = new StatsRegistry({ clock: { now: () => now } });
  // Seconds ...05 to ...09 (whole) and ...10 (the current one): blue takes 10 a second, green 30 in the last two.
  for (let sec = 5; sec <= 10; sec++) for (let i = 0; i < 10; i++) stats.forEnv('web', 'blue').record(i === 0 ? 503 : 200, 20, 1_700_000_000_000 + sec * 1000);
  for (let sec = 9; sec <= 10; sec++) for (let i = 0; i < 30; i++) stats.forEnv('web', 'green').record(200, 5, 1_700_000_000_000 + sec * 1000);
  const t = appTraffic(stats, 'web', now, 8);
  assert.deepEqual(t.envs.blue.points.map((p) => p.at - 1_700_000_000_000), [2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  assert.deepEqual(t.envs.blue.points.map((p) => p.requests), [0, 0, 0, 10, 20, 30, 40, 50], 'each point covers five seconds');
  assert.equal(t.envs.blue.points.at(-1)!.rps, 10);
  assert.equal(t.envs.blue.points.at(-1)!.errorRate, 0.1);
  assert.equal(t.envs.blue.points[0]!.p99Ms, null);
  assert.equal(t.envs.green.points.at(-1)!.rps, 6, '30 requests over five seconds');
  assert.equal(t.envs.blue.requests + t.envs.green.requests, 60 + 60);
  assert.equal(t.envs.blue.share, 0.5);
  assert.ok(t.envs.blue.p99Ms! > t.envs.green.p99Ms!);
});

test('the page parses the event stream across chunk boundaries, CRLF, comments and multi-line data', T, async (t) => {
  const run = await startCutover(t);
  const { page, problems } = await openPage(t, run.adminUrl);
  const events = await page.evaluate(async () => {
    const { SseParser } = await import('/assets/sse-parser.js' as string);
    const seen: unknown[] = [];
    const parser = new SseParser((e: unknown) => seen.push(e));
    for (const chunk of [': hello\r', '\nid: 7\r\nevent: sw', 'itch\ndata: {"a":\ndata: 1}\n', '\n', 'data: x\r\r', 'id\n\nevent: y\n\n']) parser.push(chunk);
    return { seen, lastId: parser.lastId };
  });
  assert.deepEqual(events.seen, [
    { type: 'switch', data: '{"a":\n1}', id: '7' },
    { type: 'message', data: 'x', id: '7' },
  ]);
  assert.equal(events.lastId, '', 'a bare "id" line clears the id');
  assert.deepEqual(problems, []);
});

test('both environments with their versions, the live one marked; a switch through the API shows without a reload', T, async (t) => {
  const { run } = await blueLiveGreenReady(t);
  const { page, problems } = await openPage(t, run.adminUrl);
  await waitForText(page, `${envPanel('web', 'blue')} .version`, 'v1');
  await waitForText(page, `${envPanel('web', 'green')} .version`, 'v2');
  assert.equal(await page.getAttribute(envPanel('web', 'blue'), 'data-role'), 'live');
  assert.equal(await page.textContent(`${envPanel('web', 'blue')} .role`), 'live');
  assert.equal(await page.textContent(`${envPanel('web', 'green')} .role`), 'candidate');
  await waitForText(page, `${envPanel('web', 'green')} .targets`, /healthy/);
  await waitForText(page, '#connection', 'live');
  assert.equal(await page.isEnabled('section.app[data-app="web"] button[data-action="switch"]'), true);
  assert.equal(await page.isEnabled('section.app[data-app="web"] button[data-action="rollback"]'), false);
  await screenshot(page, 'blue-live-green-ready');

  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  assert.equal((await run.api('POST', '/api/apps/web/switch', { who: 'test' })).status, 200);
  await waitForText(page, '#events', /switched from blue to green \(v2\)/, 5_000);
  await waitForText(page, `${envPanel('web', 'green')} .role`, 'live', 5_000);
  await waitForText(page, `${envPanel('web', 'blue')} .role`, 'standby');
  await waitForText(page, 'section.app[data-app="web"] .summary', 'live: green v2');
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
  await screenshot(page, 'after-api-switch');
  assert.deepEqual(problems, []);
});

test('rollback clicked and confirmed on the page flips the route', T, async (t) => {
  const { run } = await blueLiveGreenReady(t);
  assert.equal((await run.api('POST', '/api/apps/web/switch', {})).status, 200);
  assert.equal(await through(run), 'green-v2');
  const { page, problems } = await openPage(t, run.adminUrl);
  const rollback = 'section.app[data-app="web"] button[data-action="rollback"]';
  await waitForText(page, `${envPanel('web', 'blue')} .role`, 'standby');

  // By keyboard: Enter opens the dialog with focus on Cancel; Escape closes it, changes nothing, returns focus.
  await page.focus(rollback);
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  await waitForText(page, '#confirm-title', 'Roll back web to blue?');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-cancel');
  await screenshot(page, 'rollback-dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog#confirm', { state: 'hidden' });
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.action), 'rollback');
  assert.equal(await through(run), 'green-v2');

  await page.click(rollback);
  await page.click('dialog#confirm[open] #confirm-ok');
  await waitForText(page, `${envPanel('web', 'blue')} .role`, 'live', 5_000);
  assert.equal(await through(run), 'blue-v1');
  await waitForText(page, '#events', /rolled back from green to blue \(v1\)/);
  await waitForText(page, '#events', /v2 on green is rolled-back — rolled back by local \(dashboard\)/);
  await screenshot(page, 'after-rollback');
  assert.deepEqual(problems, []);
});

test('with a token configured the page asks for it once, then works, also after a reload', T, async (t) => {
  const run = await startCutover(t, WEB_APP, `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`);
  const blue = await startUpstream(t, 'blue-v1');
  await deployWithToken(run, 'v1', [blue.url]);
  const { page, problems } = await openPage(t, run.adminUrl);

  await page.waitForSelector('dialog#token[open]');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'token-input');
  assert.equal(await page.isVisible('#token-error'), false);
  // Escape leaves the page waiting, with a button to give the token later.
  await page.keyboard.press('Escape');
  await waitForText(page, '#connection', 'the admin API needs a token');
  await sleep(2_500); // a refresh tick later: still not asked again
  assert.equal(await page.isVisible('dialog#token'), false);
  await page.click('#sign-in');
  await page.waitForSelector('dialog#token[open]');
  await page.fill('#token-input', 'not-the-token-at-all');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#token[open] #token-error:not([hidden])');
  await screenshot(page, 'token-refused');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-ok');
  await waitForText(page, `${envPanel('web', 'blue')} .version`, 'v1');
  await waitForText(page, `${envPanel('web', 'blue')} .role`, 'live');
  await waitForText(page, '#connection', 'live');

  // The event stream carries the token too: a deploy made elsewhere shows up.
  const green = await startUpstream(t, 'green-v2');
  await deployWithToken(run, 'v2', [green.url]);
  await waitForText(page, '#events', /switched from blue to green \(v2\)/);
  await waitForText(page, `${envPanel('web', 'green')} .role`, 'live');

  await page.reload();
  await waitForText(page, `${envPanel('web', 'green')} .version`, 'v2');
  assert.equal(await page.isVisible('dialog#token'), false, 'the token is kept for the tab');
  assert.deepEqual(problems, []);
});

test('during a deploy under load: phases, traffic charts and share; the README screenshot', { timeout: 90_000 }, async (t) => {
  const analysis = '    analysis: { bake: 60s, maxErrorRate: 20%, maxP99: 2s, minRequests: 50, compareToBaseline: false }';
  const run = await startCutover(t, `${WEB_APP}\n${analysis}`);
  // v1 answers in 10–40 ms and fails one request in 150; v2 is quicker and does not fail.
  const blue = await startUpstream(t, 'blue-v1', slow(10, 40, 1 / 150));
  const green = await startUpstream(t, 'green-v2', slow(5, 20, 0));
  await deploy(run, 'v1', [blue.url]);
  const load = runLoad({ url: run.proxyUrl, clients: 3, durationMs: 28_000 });
  t.after(() => load);
  await sleep(13_000);
  await deploy(run, 'v2', [green.url], 'watching');
  const { page, problems } = await openPage(t, run.adminUrl);
  await sleep(10_000);

  await waitForText(page, 'section.app[data-app="web"] .phases li.current', 'watching');
  assert.equal(await page.getAttribute('section.app[data-app="web"] .phases li.current', 'aria-current'), 'step');
  await waitForText(page, 'section.app[data-app="web"] .caption', 'Deploying v2 to green');
  await waitForText(page, 'section.app[data-app="web"] .share-text', /green 100%/);
  await waitForText(page, `${envPanel('web', 'green')} .figure.rps .value`, /[1-9][\d.]* req\/s/);
  await waitForText(page, `${envPanel('web', 'blue')} .figure.p99Ms .value`, '–');
  const bluePath = await page.getAttribute(`${envPanel('web', 'blue')} .figure.rps path.line`, 'd');
  assert.ok((bluePath?.split('L').length ?? 0) > 5, `blue's rate chart has the seconds before the switch: ${bluePath}`);
  await waitForText(page, 'section.app[data-app="web"] .timeline', /v1 → blue · done/);

  const docs = process.env.UPDATE_DOCS_SCREENSHOT === '1' ? join(ROOT, 'docs', 'dashboard.png') : undefined;
  await page.setViewportSize({ width: 1280, height: 1100 });
  await screenshot(page, 'during-deploy', docs);
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'during-deploy-dark');
  assert.deepEqual(problems, []);
  const samples = await load;
  assert.ok(samples.length > 100, `the load ran (${samples.length} requests)`);
});

interface TrafficBody {
  envs: Record<'blue' | 'green', { points: unknown[]; rps: number; share: number | null }>;
}

/** v1 live on blue, v2 deployed to green and waiting there for a switch. */
async function blueLiveGreenReady(t: TestContext): Promise<{ run: Running; blue: Upstream; green: Upstream }> {
  const run = await startCutover(t);
  const blue = await startUpstream(t, 'blue-v1');
  const green = await startUpstream(t, 'green-v2');
  assert.equal((await deploy(run, 'v1', [blue.url])).phase, 'done');
  assert.equal((await deploy(run, 'v2', [green.url], 'ready', { switch: false })).phase, 'ready');
  return { run, blue, green };
}

/** Which upstream a request through the proxy reaches. */
async function through(run: Running): Promise<string> {
  return (await request(run.proxyUrl)).body.text();
}

/** Deploys with the admin token and waits until it is done. */
async function deployWithToken(run: Running, version: string, targets: string[]): Promise<void> {
  const started = await callApi<{ deployment: { id: string } }>(run.adminUrl, 'POST', '/api/apps/web/deployments', { version, targets }, TOKEN);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const path = `/api/apps/web/deployments/${started.body.deployment.id}`;
  await eventually(async () => (await callApi<{ phase: string }>(run.adminUrl, 'GET', path, undefined, TOKEN)).body.phase === 'done', 10_000, `${version} done`);
}

/** An upstream handler answering after `min`–`max` ms, with 500 for a `failRate` share of requests. */
function slow(min: number, max: number, failRate: number) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, upstream: Upstream) => {
    req.resume();
    setTimeout(() => res.writeHead(Math.random() < failRate ? 500 : 200, { 'content-type': 'text/plain' }).end(upstream.name), min + Math.random() * (max - min));
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('the caption of a deployment switched back after a rollback by hand says so, not "Deploying"', async () => {
  const timeline: string = '../src/dashboard/timeline.js';
  const { deploymentCaption } = (await import(timeline)) as { deploymentCaption: (d: object, phase: string) => string };
  const at = Date.UTC(2026, 10, 27, 7, 0, 0);
  const phases = ['starting', 'health-gate', 'verifying', 'ready', 'switching', 'watching'].map((phase, i) => ({ phase, at: at + i * 1000 }));
  const d = { version: 'v2', color: 'green', who: 'ops', createdAt: at, finishedAt: null, phases };
  assert.match(deploymentCaption(d, 'watching'), /^Deploying v2 to green · started .* by ops · watching$/);
  const back = { ...d, phases: [...phases, { phase: 'rolled-back', at: at + 9000 }, { phase: 'watching', at: at + 20_000 }] };
  assert.match(deploymentCaption(back, 'watching'), /^Switched back to v2 on green · started .* by ops · watching$/);
  assert.match(deploymentCaption({ ...back, finishedAt: at + 80_000 }, 'done'), /^Last deployment: v2 to green · started .* by ops · done after 1 min 20 s$/);
});

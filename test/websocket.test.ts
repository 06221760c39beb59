// WebSockets through cutover: relayed both ways, and at a switch the ones already open stay on the old
// environment through the drain, then get close code 1001, spread over drainJitter; new ones reach the new env.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { callApi, deploy, eventually, startCutover } from './support/cutover-harness.ts';
import { exchange } from './support/raw-http.ts';
import { closeServer } from './support/upstream.ts';

const APP = (drain: string, jitter: string) => `  web:
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 1, unhealthy: 2, deadline: 3s }
    drain: ${drain}
    drainJitter: ${jitter}`;

/** An upstream answering /healthz and echoing WebSocket messages prefixed with its name. */
async function wsUpstream(t: Parameters<typeof startCutover>[0], name: string) {
  const server = createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : name));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(binary ? data : `${name}:${data}`, { binary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await closeServer(server);
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url.replace('http', 'ws') + '/socket', { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function ask(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.send(text);
  });
}

function closeCode(ws: WebSocket): Promise<{ code: number; at: number }> {
  return new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
}

test('messages are relayed both ways, text and a 4 MB binary message intact', async (t) => {
  const run = await startCutover(t, APP('1s', '0s'));
  await deploy(run, 'v1', [await wsUpstream(t, 'blue')]);
  const ws = await open(run.proxyUrl);
  t.after(() => ws.terminate());
  assert.equal(await ask(ws, 'hello'), 'blue:hello');
  const big = Buffer.alloc(4 * 1024 * 1024, 9);
  const echoed = await new Promise<Buffer>((resolve) => {
    ws.once('message', (data) => resolve(data as Buffer));
    ws.send(big, { binary: true });
  });
  assert.ok(echoed.equals(big));
});

test('a WebSocket with the preview secret reaches the candidate; with no candidate, live (as a request does)', async (t) => {
  const secret = 'preview-secret-0123456789';
  const run = await startCutover(t, `${APP('1s', '0s')}\n    preview: { header: x-preview, secret: ${secret} }\n    switch: manual`);
  await deploy(run, 'v1', [await wsUpstream(t, 'blue')], 'ready');
  assert.equal((await run.api('POST', '/api/apps/web/switch', {})).status, 200);
  // Nothing deployed to green yet: no candidate, so the preview header leaves the upgrade on live.
  const first = await open(run.proxyUrl, { 'x-preview': secret });
  t.after(() => first.terminate());
  assert.equal(await ask(first, 'hi'), 'blue:hi');
  await deploy(run, 'v2', [await wsUpstream(t, 'green')], 'ready');
  const previewing = await open(run.proxyUrl, { 'x-preview': secret });
  t.after(() => previewing.terminate());
  assert.equal(await ask(previewing, 'hi'), 'green:hi');
});

test('a WebSocket opened before a switch works through the drain, then gets 1001; a new one reaches the new env', async (t) => {
  const run = await startCutover(t, APP('1500ms', '0s'));
  const blue = await wsUpstream(t, 'blue');
  const green = await wsUpstream(t, 'green');
  await deploy(run, 'v1', [blue]);
  await deploy(run, 'v2', [green], 'ready', { switch: false });
  const before = await open(run.proxyUrl);
  t.after(() => before.terminate());
  const closed = closeCode(before);

  const switchedAt = Date.now();
  assert.equal((await callApi(run.adminUrl, 'POST', '/api/apps/web/switch', {})).status, 200);
  assert.equal(await ask(before, 'still there?'), 'blue:still there?', 'the old socket stays on blue');
  const after = await open(run.proxyUrl);
  t.after(() => after.terminate());
  assert.equal(await ask(after, 'hi'), 'green:hi');
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(await ask(before, 'during the drain'), 'blue:during the drain');
  const status = await callApi<{ envs: { blue: { targets: { draining: number; websockets: number }[] } } }>(run.adminUrl, 'GET', '/api/apps/web');
  assert.equal(status.body.envs.blue.targets[0]!.draining, 1, 'status counts what is left on the draining env');

  const { code, at } = await closed;
  assert.equal(code, 1001);
  assert.ok(at - switchedAt >= 1_400, `closed after the drain window (${at - switchedAt} ms)`);
  assert.equal(await ask(after, 'and on'), 'green:and on', 'the new one is untouched');
});

test('with many WebSockets the closes are spread over drainJitter', async (t) => {
  const run = await startCutover(t, APP('300ms', '1500ms'));
  await deploy(run, 'v1', [await wsUpstream(t, 'blue')]);
  await deploy(run, 'v2', [await wsUpstream(t, 'green')], 'ready', { switch: false });
  const sockets = await Promise.all(Array.from({ length: 40 }, () => open(run.proxyUrl)));
  t.after(() => sockets.forEach((s) => s.terminate()));
  const closes = sockets.map(closeCode);
  await callApi(run.adminUrl, 'POST', '/api/apps/web/switch', {});
  const results = await Promise.all(closes);
  assert.ok(results.every((r) => r.code === 1001));
  const times = results.map((r) => r.at).sort((a, b) => a - b);
  const spread = times.at(-1)! - times[0]!;
  t.diagnostic(`40 closes spread over ${spread} ms`);
  assert.ok(spread >= 700, `closes spread out (${spread} ms)`);
  await eventually(async () => {
    const s = await callApi<{ envs: { blue: { targets: { websockets: number }[] } } }>(run.adminUrl, 'GET', '/api/apps/web');
    return s.body.envs.blue.targets[0]!.websockets === 0;
  }, 3_000, 'every tunnel counted out');
});

test('an upstream that does not switch protocols: its answer reaches the client, nothing raw goes through, the tunnel closes', async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : 'plain'));
  server.on('upgrade', (req, socket) => {
    seen.push(`${req.method} ${req.url}`);
    socket.on('data', (d) => seen.push(`raw: ${String(d).split('\r\n')[0]}`));
    socket.on('end', () => socket.destroy());
    socket.write('HTTP/1.1 426 Upgrade Required\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => closeServer(server));
  const run = await startCutover(t, APP('1s', '0s'));
  await deploy(run, 'v1', [`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(run.proxyUrl.replace('http', 'ws') + '/socket');
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
  assert.equal(status, 426);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seen, ['GET /socket'], 'only the upgrade request reached the upstream');
});

/**
 * A raw TCP upstream, deployed as v1 of a new cutover: each request head it reads (bodies are not expected) is
 * answered with `answer(head)`. Returns the running cutover.
 */
async function cutoverToRawUpstream(t: Parameters<typeof startCutover>[0], answer: (head: string) => string) {
  const sockets = new Set<Socket>();
  const upstream = createNetServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        socket.write(answer(head));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    upstream.close();
  });
  const run = await startCutover(t, APP('1s', '0s'));
  await deploy(run, 'v1', [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`]);
  return run;
}

const UPGRADE = 'GET /socket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

test('an upstream that closes an upgrade without answering: the client gets 502, not an empty reply', async (t) => {
  for (const how of ['end', 'destroy'] as const) {
    const server = createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : 'plain'));
    server.on('upgrade', (_req, socket: Socket) => socket[how]());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => closeServer(server));
    const run = await startCutover(t, APP('1s', '0s'));
    await deploy(run, 'v1', [`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
    const ex = await exchange(run.proxyUrl, UPGRADE);
    assert.match(ex.raw.toString('latin1'), /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*\r\n\r\nUPSTREAM_RESET: /, `the upstream's socket.${how}()`);
    assert.ok(ex.closed, 'and the connection closes');
  }
});

// Bytes after the upgrade request's head, sent in the same write, must wait for a 101: to an upstream that answers
// the upgrade as a plain request they would be read as a second request that none of cutover's checks had seen.
test('bytes sent right after an upgrade request never reach an upstream that did not switch protocols', async (t) => {
  const requestLines: string[] = [];
  const run = await cutoverToRawUpstream(t, (head) => {
    const line = head.slice(0, head.indexOf('\r\n'));
    if (!line.includes('/healthz')) requestLines.push(line);
    return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
  });
  const upgrade = UPGRADE;
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: internal.admin\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';
  const sent = await exchange(run.proxyUrl, upgrade + smuggled, { timeoutMs: 1_000 });
  assert.equal(sent.responses[0]?.status, 200, 'the upstream answered the upgrade as a plain request');
  assert.deepEqual(requestLines, ['GET /socket HTTP/1.1']);
  // Nor is an upgrade pipelined behind a request cutover refused (400: no Host) relayed.
  const behind = await exchange(run.proxyUrl, `GET /refused HTTP/1.1\r\n\r\n${upgrade}`, { timeoutMs: 1_000 });
  assert.deepEqual([behind.responses.map((r) => r.status), behind.closed], [[400], true]);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(requestLines, ['GET /socket HTTP/1.1']);
});

// Node takes the connection from an answer still being written when it hands an upgrade over: that answer stalls
// (and a 101 would overtake it). Such an upgrade cuts the connection instead of hanging it, and a shutdown with it.
test('an upgrade pipelined behind a large answer still being written ends the connection rather than stall it', async (t) => {
  const run = await cutoverToRawUpstream(t, (head) => {
    if (/^upgrade: websocket$/im.test(head)) return 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';
    if (head.startsWith('GET /big')) return `HTTP/1.1 200 OK\r\ncontent-length: 2000000\r\n\r\n${'x'.repeat(2_000_000)}`;
    return 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
  });
  const upgrade = UPGRADE;
  const sent = await exchange(run.proxyUrl, `GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${upgrade}`, { timeoutMs: 3_000 });
  assert.ok(sent.closed, `the connection ended (${sent.raw.length} bytes read), not left stalled`);
  assert.doesNotMatch(sent.raw.toString('latin1'), /101 Switching Protocols/, 'no 101 overtakes the answer before it');
});

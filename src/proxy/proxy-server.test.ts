import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { deadUrl, startUpstream } from '../../test/support/upstream.ts';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { exchange } from '../../test/support/raw-http.ts';
import { silentLogger } from '../core/logger.ts';

test('requests go to the live environment, and to the other one right after a switch', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  const h = await startProxy(t);
  h.route('blue', [blue.url], [green.url]);
  assert.equal(await (await request(h.url)).body.text(), 'blue');
  h.route('green', [blue.url], [green.url]);
  assert.equal(await (await request(h.url)).body.text(), 'green');
});

test('an app with nothing live answers 503 NOT_DEPLOYED rather than guessing', async (t) => {
  const h = await startProxy(t);
  h.route(null, [], []);
  const res = await request(h.url);
  assert.equal(res.statusCode, 503);
  assert.match(await res.body.text(), /NOT_DEPLOYED/);
});

test('an environment with no targets answers 502 NO_TARGET', async (t) => {
  const h = await startProxy(t);
  h.route('blue', [], []);
  const res = await request(h.url);
  assert.equal(res.statusCode, 502);
  assert.match(await res.body.text(), /NO_TARGET/);
});

test('a refused connection is retried once on another target', async (t) => {
  const alive = await startUpstream(t, 'alive');
  const dead = await deadUrl();
  const h = await startProxy(t);
  h.route('blue', [dead, alive.url], []);
  for (let i = 0; i < 10; i++) {
    const res = await request(h.url, { method: 'POST', body: 'x' });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'alive');
  }
});

test('every target refusing gives 502 UPSTREAM_CONNECT', async (t) => {
  const h = await startProxy(t);
  h.route('blue', [await deadUrl(), await deadUrl()], []);
  const res = await request(h.url);
  assert.equal(res.statusCode, 502);
  assert.match(await res.body.text(), /UPSTREAM_CONNECT/);
});

test('an upstream slower than the response timeout gives 504', async (t) => {
  // It never answers: a late answer could still beat the timeout on a loaded machine (one run saw 200).
  const slow = await startUpstream(t, 'slow', () => {});
  const h = await startProxy(t, { responseTimeoutMs: 200 });
  h.route('blue', [slow.url], []);
  const res = await request(h.url);
  assert.equal(res.statusCode, 504);
  assert.match(await res.body.text(), /UPSTREAM_TIMEOUT/);
});

test('headers: hop-by-hop removed, Host kept, X-Forwarded-* set', async (t) => {
  const echo = await startUpstream(t, 'echo', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'x-secret', 'x-secret': '1', 'x-kept': 'yes' });
    res.end(JSON.stringify(req.headers));
  });
  const h = await startProxy(t);
  h.route('blue', [echo.url], []);
  // node:http sends the Connection header as given (undici's client would replace it).
  const res = await nodeGet(h.url, {
    host: 'shop.example',
    'x-forwarded-for': '10.0.0.1',
    connection: 'x-drop',
    'x-drop': 'a',
    te: 'trailers',
  });
  const seen = JSON.parse(res.body) as Record<string, string>;
  assert.equal(seen.host, 'shop.example');
  assert.equal(seen['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'shop.example');
  assert.equal(seen['x-drop'], undefined);
  assert.equal(seen.te, undefined);
  assert.equal(res.headers['x-secret'], undefined);
  assert.equal(res.headers['x-kept'], 'yes');
});

test('a target failing its health checks leaves the balancer and comes back', async (t) => {
  const a = await startUpstream(t, 'a');
  const b = await startUpstream(t, 'b');
  const h = await startProxy(t);
  h.route('blue', [a.url, b.url], []);
  a.healthy = false;
  await waitFor(() => !h.target('blue', a.url).healthy);
  for (let i = 0; i < 10; i++) assert.equal(await (await request(h.url)).body.text(), 'b');
  a.healthy = true;
  await waitFor(() => h.target('blue', a.url).healthy);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(await (await request(h.url)).body.text());
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('when every live target is unhealthy, they are still tried rather than refused', async (t) => {
  const a = await startUpstream(t, 'a');
  const h = await startProxy(t);
  h.route('blue', [a.url], []);
  a.healthy = false;
  await waitFor(() => !h.target('blue', a.url).healthy);
  const res = await request(h.url);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'a');
});

function nodeGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

async function waitFor(condition: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('each public request is recorded once for its environment, with its status; preview traffic is not', async (t) => {
  const seen: string[] = [];
  const stats = { forEnv: (app: string, color: string) => ({ record: (status: number) => void seen.push(`${app}/${color} ${status}`) }) };
  const ok = await startUpstream(t, 'ok');
  const broken = await startUpstream(t, 'broken', (_req, res) => res.writeHead(500).end());
  const h = await startProxy(t, { stats });
  h.route('blue', [ok.url], [broken.url], { preview: { header: 'x-p', secret: 'preview-secret-0123456789' } });
  for (let i = 0; i < 3; i++) await (await request(h.url)).body.dump();
  await (await request(h.url, { headers: { 'x-p': 'preview-secret-0123456789' } })).body.dump();
  h.route('green', [ok.url], [broken.url]);
  await (await request(h.url)).body.dump();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['web/blue 200', 'web/blue 200', 'web/blue 200', 'web/green 500']);
});

test('upstreamConnections caps the connections to a target: requests beyond it wait their turn, none fails', async (t) => {
  let inFlight = 0;
  let most = 0;
  // One request per connection at a time (no pipelining): requests in flight at the upstream are its connections in
  // use. Health probes come on their own connection and are left out.
  const slow = await startUpstream(t, 'slow', (req, res) => {
    if (req.url !== '/') return void res.end('ok');
    most = Math.max(most, ++inFlight);
    setTimeout(() => {
      inFlight--;
      res.end('done');
    }, 200);
  });
  const h = await startProxy(t, { connections: 2 });
  h.route('blue', [slow.url], []);
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 6 }, async () => (await request(h.url, { reset: true })).body.text()));
  const tookMs = performance.now() - started;
  assert.deepEqual(answers, Array(6).fill('done'));
  assert.equal(most, 2, `the upstream had ${most} requests at once`);
  // Six 200 ms requests over two connections: three rounds.
  assert.ok(tookMs >= 550, `took ${tookMs.toFixed(0)} ms`);
});

// RFC 9110 §6.4.1: a 204 or 304 has no content; a 304's Content-Length announces what a 200 would carry (§8.6).
test('a 304 or 204 whose Content-Length announces a body is relayed whole, not cut and counted as a failure', async (t) => {
  const upstream = await startUpstream(t, 'up', (req, res) => {
    req.resume();
    if (req.url === '/304') res.writeHead(304, { etag: '"v1"', 'content-length': '1234' }).end();
    else res.writeHead(204, { 'content-length': '5' }).end();
  });
  const seen: number[] = [];
  const h = await startProxy(t, { stats: { forEnv: () => ({ record: (status: number) => void seen.push(status) }) } });
  h.route('blue', [upstream.url], []);
  // Node's client, as a browser: undici's own rejects the announced length, as it did upstream.
  for (const [path, status] of [['/304', 304], ['/204', 204], ['/304', 304]] as const) {
    const res = await nodeGet(`${h.url}${path}`, {});
    assert.equal(res.status, status, path);
    assert.equal(res.body, '');
    if (status === 304) assert.equal(res.headers.etag, '"v1"');
    else assert.equal(res.headers['content-length'], undefined, 'RFC 9110 §8.6: a 204 carries none');
  }
  await waitFor(() => seen.length === 3);
  assert.deepEqual(seen, [304, 204, 304], 'recorded as answered, not as 5xx');
});

test('interim 1xx responses an upstream sends unasked are skipped: the client gets the final answer (RFC 9110 §15.2)', async (t) => {
  const upstream = await startUpstream(t, 'up', (req, res) => {
    req.resume();
    res.writeContinue();
    res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    res.end('after');
  });
  const h = await startProxy(t);
  h.route('blue', [upstream.url], []);
  const res = await request(h.url);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'after');
});

test('an upstream that switches protocols unasked, or sends no HTTP, gets 502 UPSTREAM_BAD_RESPONSE saying so', async (t) => {
  const answers: Record<string, string> = {
    '/101': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    '/garbage': 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    '/folded': 'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n',
    '/lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    '/nul': 'HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n',
  };
  const upstream = await startUpstream(t, 'up', (req) => {
    req.socket.end(answers[req.url!]);
  });
  const h = await startProxy(t);
  h.route('blue', [upstream.url], []);
  for (const [path, why] of [['/101', /switched protocols/], ['/garbage', /malformed status line/], ['/folded', /malformed header line/], ['/lengths', /invalid Content-Length/], ['/nul', /header that cannot be relayed/]] as const) {
    const res = await request(h.url + path);
    assert.equal(res.statusCode, 502, path);
    const text = await res.body.text();
    assert.match(text, /^UPSTREAM_BAD_RESPONSE: http:\/\/127\.0\.0\.1:\d+ /, path);
    assert.match(text, why, path);
  }
});

test('a 502 for a header Node refuses to send says Bad Gateway, not the upstream\'s reason phrase', async (t) => {
  const upstream = await startUpstream(t, 'up', (req) => void req.socket.end('HTTP/1.1 200 Fine\r\nX Y: z\r\nContent-Length: 2\r\n\r\nok'));
  const h = await startProxy(t);
  h.route('blue', [upstream.url], []);
  const ex = await exchange(h.url, 'GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  assert.match(ex.raw.toString('latin1'), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
});

test('a response cut off by the upstream after it started is logged, and the client connection is cut', async (t) => {
  const upstream = await startUpstream(t, 'up', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '100' });
    res.write('0123456789');
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (_o: object | string, msg?: string) => void warnings.push(msg ?? ''), child: () => log };
  const h = await startProxy(t, { log });
  h.route('blue', [upstream.url], []);
  await assert.rejects(async () => (await request(h.url)).body.text());
  await waitFor(() => warnings.length > 0);
  assert.match(warnings[0]!, /^the response was cut off after it had started: http:\/\/127\.0\.0\.1:\d+ closed the connection$/);
});

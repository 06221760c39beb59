// cutover's own upstream connections, driven through a ConnectionPool against real servers on loopback: reuse,
// framing of request bodies, timeouts, keep-alive, and connections that must not be reused.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ConnectionPool, type ConnectionPoolOptions } from './connection-pool.ts';
import type { UpstreamRequest } from './upstream-connection.ts';

interface Answer {
  status: number;
  body: string;
  error: string | null;
  ms: number;
}

/** One request through the pool; `slowReader` holds the body back (onData false) for that many ms once. */
function send(pool: ConnectionPool, request: Partial<UpstreamRequest> = {}, slowReader = 0): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    let resume: () => void = () => {};
    let held = false;
    const done = (error: string | null) => resolve({ status, body, error, ms: performance.now() - started });
    pool.dispatch({ method: 'GET', path: '/', headers: ['host', 'up'], body: null, ...request }, {
      onConnect: () => {},
      onHeaders: (code, _headers, r) => ((status = code), (resume = r), true),
      onData: (chunk) => {
        body += chunk.toString();
        if (slowReader === 0 || held) return true;
        held = true;
        setTimeout(resume, slowReader);
        return false;
      },
      onComplete: () => done(null),
      onError: (err) => done((err as { code?: string }).code ?? err.message),
    });
  });
}

async function listen(t: TestContext, server: ReturnType<typeof createTcpServer> | ReturnType<typeof createHttpServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTP upstream that counts its connections. */
async function httpUpstream(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const connections: Socket[] = [];
  const server = createHttpServer(handler);
  server.on('connection', (s: Socket) => void connections.push(s));
  t.after(() => server.closeAllConnections());
  return { url: await listen(t, server), connections };
}

/** An upstream that answers every request with `wire`, as raw bytes, and counts its connections. */
async function rawUpstream(t: TestContext, wire: (request: string, n: number) => string) {
  const connections: Socket[] = [];
  let requests = 0;
  const server = createTcpServer((socket) => {
    connections.push(socket);
    socket.on('error', () => {});
    socket.on('data', (data) => {
      if (data.includes('\r\n\r\n')) socket.write(wire(data.toString('latin1'), ++requests));
    });
  });
  t.after(() => connections.forEach((s) => s.destroy()));
  return { url: await listen(t, server), connections };
}

function pool(t: TestContext, url: string, options: Partial<ConnectionPoolOptions> = {}): ConnectionPool {
  const p = new ConnectionPool(url, { connections: 4, ...options });
  t.after(() => p.destroy(new Error('test over')));
  return p;
}

const closed = (socket: Socket) => new Promise((r) => (socket.destroyed ? r(null) : socket.once('close', r)));

test('a request body with a Content-Length goes as it is; one without goes chunked (RFC 9112 §7.1)', async (t) => {
  const seen: string[] = [];
  const { url } = await httpUpstream(t, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      seen.push(`${req.headers['content-length'] ?? '-'} ${req.headers['transfer-encoding'] ?? '-'} ${body}`);
      res.end('ok');
    });
  });
  const p = pool(t, url);
  const sized = await send(p, { method: 'POST', headers: ['host', 'up', 'content-length', '11'], body: Readable.from([Buffer.from('hello '), Buffer.from('world')]) });
  const chunked = await send(p, { method: 'POST', body: Readable.from([Buffer.from('a'), Buffer.from(''), Buffer.from('bc')]) });
  assert.deepEqual([sized.error, chunked.error], [null, null]);
  assert.deepEqual(seen, ['11 - hello world', '- chunked abc']);
});

test('a request without Host gets the target\'s (an HTTP/1.0 client may send none)', async (t) => {
  let host = '';
  const { url } = await httpUpstream(t, (req, res) => ((host = req.headers.host ?? ''), res.end()));
  await send(pool(t, url), { headers: [] });
  assert.equal(host, new URL(url).host);
});

test('an upstream that does not answer fails the request after the response time; one that streams slowly does not', async (t) => {
  const { url } = await httpUpstream(t, (req, res) => {
    if (req.url === '/never') return;
    // A byte every 100 ms for 600 ms: never 300 ms without one.
    res.writeHead(200);
    let n = 0;
    const tick = setInterval(() => (++n === 6 ? (clearInterval(tick), res.end('.')) : res.write('.')), 100);
  });
  const p = pool(t, url, { responseTimeoutMs: 300 });
  const [never, slow] = await Promise.all([send(p, { path: '/never' }), send(p, { path: '/slow' })]);
  assert.equal(never.error, 'RESPONSE_TIMEOUT');
  assert.ok(never.ms >= 290 && never.ms < 1_500, `timed out after ${never.ms} ms`);
  assert.deepEqual([slow.error, slow.body], [null, '......']);
});

test('time the client holds the body back (backpressure) is not counted against the upstream', async (t) => {
  const { url } = await httpUpstream(t, (req, res) => {
    res.write('a'.repeat(100));
    setTimeout(() => res.end('b'), 50);
  });
  const answer = await send(pool(t, url, { responseTimeoutMs: 200 }), {}, 500);
  assert.equal(answer.error, null);
  assert.equal(answer.body, `${'a'.repeat(100)}b`);
});

test('an idle connection is closed after the keep-alive time, sooner when the upstream\'s Keep-Alive says so', async (t) => {
  const plain = await rawUpstream(t, () => 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  const hinted = await rawUpstream(t, () => 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 0\r\n\r\n');
  const started = performance.now();
  await Promise.all([send(pool(t, plain.url, { keepAliveMs: 1_500 })), send(pool(t, hinted.url, { keepAliveMs: 5_000 }))]);
  const when = async (socket: Socket) => (await closed(socket), performance.now() - started);
  const [plainMs, hintedMs] = await Promise.all([when(plain.connections[0]!), when(hinted.connections[0]!)]);
  assert.ok(plainMs >= 1_400 && plainMs < 3_000, `keepAliveMs 1500: closed after ${plainMs} ms`);
  // timeout=2 s, less a second's margin so that cutover closes first.
  assert.ok(hintedMs >= 900 && hintedMs < 1_400, `Keep-Alive timeout=2: closed after ${hintedMs} ms`);
});

test('a connection that may not carry another request is closed after its response; the next opens a new one', async (t) => {
  const cases = [
    { desc: 'Connection: close', wire: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok' },
    { desc: 'HTTP/1.0', wire: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok' },
    { desc: 'bytes after the response', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n' },
    { desc: 'both Transfer-Encoding and Content-Length', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nok\r\n0\r\n\r\n' },
  ];
  for (const c of cases) {
    const up = await rawUpstream(t, () => c.wire);
    const p = pool(t, up.url);
    assert.deepEqual(await send(p).then((a) => [a.status, a.body, a.error]), [200, 'ok', null], c.desc);
    await closed(up.connections[0]!);
    assert.equal((await send(p)).body, 'ok', c.desc);
    assert.equal(up.connections.length, 2, `${c.desc}: a new connection for the next request`);
  }
});

test('an upstream that answers before the whole upload came: the answer is relayed, the connection not reused', async (t) => {
  const { url, connections } = await httpUpstream(t, (req, res) => {
    if (req.url === '/upload') return void res.writeHead(413, { connection: 'keep-alive' }).end('too big');
    res.end('next');
  });
  const p = pool(t, url, { connections: 1 });
  let pushes = 0;
  // A body that never ends by itself: 64 KiB every 10 ms, for at most 2 s.
  const endless = new Readable({ read() { setTimeout(() => this.push(++pushes > 200 ? null : Buffer.alloc(65_536)), 10); } });
  const early = await send(p, { method: 'POST', path: '/upload', headers: ['host', 'up', 'content-length', String(200 * 65_536)], body: endless });
  assert.deepEqual([early.status, early.body, early.error], [413, 'too big', null]);
  assert.equal((await send(p, { path: '/next' })).body, 'next');
  assert.equal(connections.length, 2, 'the half-sent upload\'s connection was not used again');
  endless.destroy();
});

test('a kept-alive connection the upstream closes while idle leaves the pool; the next request opens another', async (t) => {
  const { url, connections } = await httpUpstream(t, (_req, res) => res.end('ok'));
  const p = pool(t, url);
  assert.equal((await send(p)).body, 'ok');
  connections[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.size, 0);
  assert.deepEqual(await send(p).then((a) => [a.body, a.error]), ['ok', null]);
  assert.equal(connections.length, 2);
});

test('a response cut before its end fails with CLOSED; one read until close ends cleanly', async (t) => {
  const cut = await rawUpstream(t, () => 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf');
  const untilClose = await rawUpstream(t, () => 'HTTP/1.1 200 OK\r\n\r\nall of it');
  const [a, b] = [send(pool(t, cut.url)), send(pool(t, untilClose.url))];
  await new Promise((r) => setTimeout(r, 50));
  cut.connections[0]!.end();
  untilClose.connections[0]!.end();
  assert.deepEqual(await a.then((x) => [x.body, x.error]), ['half', 'CLOSED']);
  assert.deepEqual(await b.then((x) => [x.body, x.error]), ['all of it', null]);
});

test('a refused connection fails its request and frees its place', async (t) => {
  const refused = pool(t, 'http://127.0.0.1:1', { connections: 1 });
  assert.equal((await send(refused)).error, 'ECONNREFUSED');
  assert.equal((await send(refused)).error, 'ECONNREFUSED', 'the place was given back');
});

// Requests with bodies and requests that wait for a connection, through a real proxy to real upstreams: what happens
// to the upload when the upstream answers early, fails, or is slow, and to a request whose client leaves while it waits.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { request } from 'undici';
import { eventually } from '../../test/support/cutover-harness.ts';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { field, RawConnection } from '../../test/support/raw-http.ts';
import { startUpstream } from '../../test/support/upstream.ts';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An upstream speaking raw HTTP: `answer` gets each request head (and the body bytes that came with it) and the
 * socket, and writes what it likes. Health probes get 200. Counts the connections that carried a request other than
 * a probe.
 */
async function rawUpstream(t: TestContext, answer: (head: string, socket: Socket, n: number) => void) {
  const carried = new Set<Socket>();
  /** When each connection was accepted (ms). */
  const since = new WeakMap<Socket, number>();
  const server = createServer((socket) => {
    since.set(socket, Date.now());
    socket.on('error', () => {});
    let n = 0;
    socket.on('data', (data) => {
      const text = data.toString('latin1');
      if (!/^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(text)) return;
      if (text.startsWith('GET /healthz')) return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      carried.add(socket);
      answer(text, socket, ++n);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, carried, since };
}

const OK = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

test('an upload that passes the limit while it waits for a connection gets 413, and the proxy goes on serving', async (t) => {
  const up = await startUpstream(t, 'up', (req, res) => void setTimeout(() => res.end('slow'), req.url === '/slow' ? 300 : 0));
  const h = await startProxy(t, { connections: 1 });
  h.route('blue', [up.url], [], { maxBodyBytes: 1_000 });
  const slow = request(`${h.url}/slow`).then((r) => r.body.text());
  await delay(50);
  const answer = await RawConnection.with(h.url, async (conn) => {
    conn.write(`POST /upload HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${'x'.repeat(5_000)}\r\n`);
    return conn.nextResponse('POST');
  });
  assert.equal(answer.status, 413);
  assert.equal(await slow, 'slow');
  assert.equal((await request(h.url)).statusCode, 200);
});

test('a client that leaves while its request waits for a connection: nothing is sent for it, no connection is spent', async (t) => {
  const up = await rawUpstream(t, (head, socket) => {
    setTimeout(() => socket.write(OK('answer')), head.startsWith('GET /slow') ? 300 : 0);
  });
  const h = await startProxy(t, { connections: 1 });
  h.route('blue', [up.url], []);
  const slow = request(`${h.url}/slow`).then((r) => r.body.text());
  await delay(50);
  // An upload cut mid-body, and five requests given up, all while /slow holds the only connection.
  const conns = await Promise.all([0, 1, 2, 3, 4, 5].map(() => RawConnection.open(h.url)));
  conns[0]!.write('POST /up HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
  for (const c of conns.slice(1)) c.write('GET /gone HTTP/1.1\r\nHost: web\r\n\r\n');
  await delay(50);
  for (const c of conns) c.destroy();
  assert.equal(await slow, 'answer');
  assert.equal(await (await request(`${h.url}/after`)).body.text(), 'answer');
  assert.equal(up.carried.size, 1, 'every request went over the one connection: none was closed for a request that had left');
});

test('an answer that comes before the whole upload is relayed, and the client\'s connection closes after it', async (t) => {
  const up = await rawUpstream(t, (_head, socket) => socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope'));
  const h = await startProxy(t);
  h.route('blue', [up.url], []);
  await RawConnection.with(h.url, async (conn) => {
    conn.write('POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: 10000000\r\n\r\n');
    conn.write('x'.repeat(64 * 1024));
    const res = await conn.nextResponse('POST');
    assert.equal(res.status, 401);
    assert.equal(field(res, 'connection'), 'close');
    assert.ok(await conn.closed(2_000), 'the connection closed: the rest of the upload is never read');
  });
});

test('a request retried on another target takes its body along, though its bytes come while it waits there', async (t) => {
  let refused = 0;
  const upstream = (name: string) => (head: string, socket: Socket) => {
    if (head.startsWith('GET /slow')) return void setTimeout(() => socket.write(OK('slow')), 400);
    // The first target to get the PUT closes on its head; the other reads the 5 body bytes, then answers.
    if (refused++ === 0) return void socket.destroy();
    let got = head.length - head.indexOf('\r\n\r\n') - 4;
    const done = () => got >= 5 && socket.write(OK(`${name} got ${got}`));
    socket.on('data', (d: Buffer) => ((got += d.length), done()));
    done();
  };
  const a = await rawUpstream(t, upstream('a'));
  const b = await rawUpstream(t, upstream('b'));
  const h = await startProxy(t, { responseTimeoutMs: 2_000, connections: 1 });
  h.route('blue', [a.url, b.url], []);
  // One target is busy with /slow: the PUT goes to the other, which closes, and the retry waits behind /slow while
  // the body comes.
  const slow = request(`${h.url}/slow`).then((r) => r.body.text());
  await delay(50);
  await RawConnection.with(h.url, async (conn) => {
    conn.write('PUT /p HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\n');
    await delay(150);
    conn.write('hello');
    const res = await conn.nextResponse('PUT');
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /^[ab] got 5$/);
  });
  assert.equal(await slow, 'slow');
});

test('a kept-alive connection the upstream closes as a request comes is retried on a new one, to the same single target', async (t) => {
  // Each connection answers its first request and closes on its second: an upstream whose idle time ran out.
  const up = await rawUpstream(t, (_head, socket, n) => (n === 1 ? socket.write(OK('fresh')) : socket.destroy()));
  const h = await startProxy(t);
  h.route('blue', [up.url], []);
  for (let i = 0; i < 3; i++) {
    const res = await request(h.url);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'fresh');
  }
  assert.equal(h.target('blue', up.url).status().failures, 0, 'a closed idle connection the retry got past is no failure of the target');
});

test('that retry goes on a new connection, not on another kept-alive one that sat idle as long', async (t) => {
  const up = await rawUpstream(t, (_head, socket, n) => (n === 1 ? setTimeout(() => socket.write(OK('fresh')), 50) : socket.destroy()));
  const h = await startProxy(t);
  h.route('blue', [up.url], []);
  // Two connections, both kept alive and idle, both closed by the upstream on their next request.
  assert.deepEqual(await Promise.all([0, 1].map(async () => (await request(h.url)).body.text())), ['fresh', 'fresh']);
  const res = await request(h.url);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'fresh');
  assert.equal(up.carried.size, 3, 'the two idle connections, then a new one');
});

test('an upload the client stalls for longer than the response timeout is not the upstream\'s timeout', async (t) => {
  const up = await startUpstream(t, 'up', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length)).on('end', () => res.end(`got ${n}`));
  });
  const h = await startProxy(t, { responseTimeoutMs: 200 });
  h.route('blue', [up.url], []);
  await RawConnection.with(h.url, async (conn) => {
    conn.write('POST /p HTTP/1.1\r\nHost: web\r\nContent-Length: 10\r\n\r\nhello');
    await delay(600);
    conn.write('world');
    const res = await conn.nextResponse('POST');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'got 10');
  });
});

test('a slow client of a response in many small pieces holds one drain listener, not one per piece', async (t) => {
  const up = await startUpstream(t, 'up', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < 20_000; i++) res.write('x'.repeat(100));
    res.end();
  });
  const h = await startProxy(t);
  h.route('blue', [up.url], []);
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  await RawConnection.with(h.url, async (conn) => {
    conn.socket.pause();
    conn.write('GET / HTTP/1.1\r\nHost: web\r\n\r\n');
    await delay(500);
    conn.socket.resume();
    const res = await conn.nextResponse('GET', 5_000);
    assert.equal(res.body.length, 2_000_000);
  });
  assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
});

test('a connection opened ahead of a switch that the upstream closes as the first request comes is retried like a kept-alive one', async (t) => {
  // Each connection that sat idle for 150 ms before its first request is closed on it: an upstream's idle timeout.
  const green = await rawUpstream(t, (_head, socket, n) => {
    if (n === 1 && Date.now() - green.since.get(socket)! >= 150) return void socket.destroy();
    socket.write(OK('green'));
  });
  const blue = await rawUpstream(t, (_head, socket) => socket.write(OK('blue')));
  const h = await startProxy(t);
  h.route('blue', [blue.url], [green.url]);
  await eventually(() => h.target('green', green.url).healthy, 3_000, 'green healthy');
  const before = green.carried.size;
  // The flip opens a spare to green, which sits idle past the upstream's 150 ms.
  h.route('green', [blue.url], [green.url]);
  await delay(400);
  const res = await request(h.url);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'green');
  assert.equal(green.carried.size - before, 2, 'the spare, closed on the request, then a new connection');
});

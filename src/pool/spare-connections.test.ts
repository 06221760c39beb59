// Connections opened ahead of a flip (ConnectionPool.warm, SpareConnections): the first requests after it must find
// them ready instead of opening their own, and spares must never outlive their use or pass the pool's limit.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { ConnectionPool } from './connection-pool.ts';
import { tcpConnector } from './connector.ts';
import { SpareConnections } from './spare-connections.ts';

/** An upstream that answers each request with its connection's number, counting connections opened and closed. */
async function upstream(t: TestContext, onConnection: (socket: Socket, n: number) => void = () => {}) {
  const seen = { opened: 0, closed: 0 };
  const numbers = new WeakMap<Socket, number>();
  const server = createServer((req, res) => setTimeout(() => res.end(String(numbers.get(req.socket))), 10));
  server.on('connection', (socket: Socket) => {
    numbers.set(socket, ++seen.opened);
    socket.on('close', () => seen.closed++);
    onConnection(socket, seen.opened);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { server.close(r); server.closeAllConnections(); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

function get(pool: ConnectionPool): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    pool.dispatch({ path: '/', method: 'GET', headers: [], body: null }, {
      onConnect: () => {},
      onHeaders: () => true,
      onData: (chunk: Buffer) => ((body += chunk), true),
      onComplete: () => resolve(body),
      onError: (err: Error) => resolve(`error ${(err as { code?: string }).code ?? err.message}`),
    });
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 2_000; !check(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > deadline) throw new Error(`not within 2 s: ${what}`);
  }
}

function pool(t: TestContext, url: string, connections = 8): ConnectionPool {
  const p = new ConnectionPool(url, { connections });
  t.after(() => p.destroy(new Error('test over')));
  return p;
}

test('warm opens connections before any request; the requests that follow take them and open none', async (t) => {
  const { url, seen } = await upstream(t);
  const p = pool(t, url);
  p.warm(3);
  await until(() => seen.opened === 3, 'three connections opened ahead');
  const answers = await Promise.all([get(p), get(p), get(p)]);
  assert.deepEqual(answers.sort(), ['1', '2', '3']);
  assert.equal(seen.opened, 3, 'no request opened a connection of its own');
});

test('a request sent while its spare is still opening waits for that spare instead of opening another', async (t) => {
  const { url, seen } = await upstream(t);
  const p = pool(t, url);
  p.warm(1);
  assert.equal(await get(p), '1');
  assert.equal(seen.opened, 1);
});

test('warm counts the free connections still open, and opens no more than the pool may have', async (t) => {
  const { url, seen } = await upstream(t);
  const p = pool(t, url, 4);
  await Promise.all([get(p), get(p)]);
  await new Promise((r) => setTimeout(r, 10)); // a connection is free again just after its answer
  p.warm(2);
  p.warm(3);
  await until(() => seen.opened === 3, 'one more connection');
  p.warm(10);
  await until(() => seen.opened === 4, 'up to the limit');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.opened, 4, 'never past the pool\'s limit of 4');
  assert.equal(p.size, 4);
});

test('connections still opening for requests count against the limit: warm opens none past it', async (t) => {
  const { url, seen } = await upstream(t);
  const p = pool(t, url, 2);
  const running = [get(p), get(p)];
  p.warm(2);
  await Promise.all(running);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(seen.opened, 2, 'the two requests\' own connections, and no spare');
});

test('a spare the upstream closed is not handed out: the request opens a connection that works', async (t) => {
  const { url, seen } = await upstream(t, (socket, n) => n === 1 && socket.destroy());
  const p = pool(t, url);
  p.warm(1);
  await until(() => seen.closed === 1 && p.size === 0, 'the upstream closed the spare, and the pool saw it');
  assert.equal(await get(p), '2');
});

test('a connection handed to the pool that replaces its own takes that pool\'s spares when it connects again', async (t) => {
  const { url, seen, server } = await upstream(t);
  const old = pool(t, url, 2);
  await Promise.all([get(old), get(old)]);
  await new Promise((r) => setTimeout(r, 10)); // a connection is free again just after its answer
  const next = pool(t, url, 2);
  old.handIdleTo(next);
  // The upstream ends the idle connections (its keep-alive time is up): the handed-over connections leave the pool.
  server.closeIdleConnections();
  await until(() => seen.closed === 2, 'both idle connections closed');
  next.warm(2);
  await until(() => seen.opened === 4, 'two spares');
  assert.deepEqual((await Promise.all([get(next), get(next)])).sort(), ['3', '4'], 'the requests went over the spares');
  assert.equal(seen.opened, 4, 'and opened none of their own');
});

test('closing the pool closes its spares', async (t) => {
  const { url, seen } = await upstream(t);
  const p = new ConnectionPool(url, { connections: 8 });
  p.warm(2);
  await until(() => seen.opened === 2, 'two spares');
  await p.close();
  await until(() => seen.closed === 2, 'both closed');
});

test('a spare nobody takes is closed after its idle time', async (t) => {
  const { url, seen } = await upstream(t);
  const spares = new SpareConnections(tcpConnector(url, 1_000), 100);
  t.after(() => spares.close());
  spares.open(1);
  await until(() => seen.opened === 1 && spares.count === 1, 'one spare');
  await until(() => seen.closed === 1, 'closed once idle');
  assert.equal(spares.count, 0);
});

test('a spare the upstream sent something on before any request is dropped, not read as the next answer', async (t) => {
  // The upstream gives up on a connection that sent nothing for 100 ms with a 408, and leaves it open.
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    const giveUp = setTimeout(() => socket.write('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n'), 100);
    socket.on('data', () => {
      clearTimeout(giveUp);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { server.close(r); }));
  const p = pool(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  p.warm(1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await get(p), 'ok');
});

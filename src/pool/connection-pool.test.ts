import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { ConnectionPool } from './connection-pool.ts';

/** One GET through the pool, as the proxy sends it: the status and body, or the error's code. */
function get(pool: ConnectionPool, path: string): Promise<string> {
  return new Promise((resolve) => {
    let status = 0;
    const chunks: Buffer[] = [];
    pool.dispatch({ path, method: 'GET', headers: [], body: null }, {
      onConnect: () => {},
      onHeaders: (code: number) => ((status = code), true),
      onData: (chunk: Buffer) => (chunks.push(chunk), true),
      onComplete: () => resolve(`${status} ${Buffer.concat(chunks).toString()}`),
      onError: (err: Error) => resolve(`error ${(err as { code?: string }).code ?? err.message}`),
    });
  });
}

async function upstream(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.after(() => new Promise((r) => { server.close(r); server.closeAllConnections(); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('beyond its connections requests wait, and are sent in the order they came as connections come free', async (t) => {
  let open = 0;
  let most = 0;
  const url = await upstream(t, (req, res) => {
    most = Math.max(most, ++open);
    setTimeout(() => { open--; res.end(req.url); }, 20);
  });
  const pool = new ConnectionPool(url, { connections: 2 });
  t.after(() => pool.destroy(new Error('test over')));
  const answers = await Promise.all(['/1', '/2', '/3', '/4', '/5'].map((path) => get(pool, path)));
  assert.deepEqual(answers, ['200 /1', '200 /2', '200 /3', '200 /4', '200 /5']);
  assert.equal(most, 2, 'never more than 2 connections at once');
  // Kept-alive connections are reused: one more request opens nothing new.
  assert.equal(await get(pool, '/6'), '200 /6');
});

test('close waits for the running and waiting requests, then refuses new ones', async (t) => {
  const url = await upstream(t, (req, res) => setTimeout(() => res.end(req.url), 30));
  const pool = new ConnectionPool(url, { connections: 1 });
  const running = [get(pool, '/a'), get(pool, '/b')];
  const closed = pool.close();
  assert.equal(await get(pool, '/late'), 'error POOL_CLOSED');
  assert.deepEqual(await Promise.all(running), ['200 /a', '200 /b']);
  await closed;
});

test('destroy fails what runs and what waits', async (t) => {
  const url = await upstream(t, () => {}); // never answers
  const pool = new ConnectionPool(url, { connections: 1 });
  const running = get(pool, '/a');
  const waiting = get(pool, '/b');
  await new Promise((r) => setTimeout(r, 50));
  await pool.destroy(Object.assign(new Error('cut'), { code: 'CUT' }));
  assert.deepEqual(await Promise.all([running, waiting]), ['error CUT', 'error CUT']);
});

test('a refused connection fails its request and gives its slot back: the next request is tried, not left waiting', async (t) => {
  const pool = new ConnectionPool('http://127.0.0.1:1', { connections: 1 });
  t.after(() => pool.destroy(new Error('test over')));
  assert.equal(await get(pool, '/'), 'error ECONNREFUSED');
  assert.equal(await get(pool, '/'), 'error ECONNREFUSED');
});

test('idle connections handed to the pool that replaces it are reused there; what runs stays and is drained', async (t) => {
  const portOf = new Map<string, number>();
  const url = await upstream(t, (req, res) => {
    portOf.set(req.url!, req.socket.remotePort!);
    setTimeout(() => res.end(req.url), req.url === '/slow' ? 150 : 0);
  });
  const old = new ConnectionPool(url, { connections: 2 });
  const next = new ConnectionPool(url, { connections: 2 });
  t.after(() => Promise.all([old.destroy(new Error('test over')), next.destroy(new Error('test over'))]));
  assert.deepEqual(await Promise.all([get(old, '/a'), get(old, '/b')]), ['200 /a', '200 /b']);
  const warm = new Set(portOf.values());
  const answered: string[] = [];
  const note = (answer: string) => (answered.push(answer), answer);
  const slow = get(old, '/slow').then(note); // takes one of the two idle connections
  await new Promise((r) => setTimeout(r, 30));
  old.handIdleTo(next);
  const closed = old.close();
  // Two at once: had the connection busy with /slow been handed over too, one of them would wait behind it.
  assert.deepEqual(await Promise.all([get(next, '/c').then(note), get(next, '/c2').then(note)]), ['200 /c', '200 /c2']);
  assert.deepEqual(answered.slice(0, 2).sort(), ['200 /c', '200 /c2'], 'neither waited behind /slow');
  assert.ok(warm.has(portOf.get('/c')!) || warm.has(portOf.get('/c2')!), 'one went on a connection the old pool had opened');
  assert.ok(portOf.get('/c') !== portOf.get('/slow') && portOf.get('/c2') !== portOf.get('/slow'));
  assert.equal(await slow, '200 /slow', 'the request running on the old pool finished there');
  await closed;
  assert.equal(await get(next, '/d'), '200 /d', 'closing the old pool left the handed-over connections open');
});

test('a pool handed more idle connections than its limit keeps only what the limit allows', async (t) => {
  const ports = new Set<number>();
  const url = await upstream(t, (req, res) => {
    ports.add(req.socket.remotePort!);
    setTimeout(() => res.end(req.url), 20);
  });
  const old = new ConnectionPool(url, { connections: 3 });
  const next = new ConnectionPool(url, { connections: 1 });
  t.after(() => Promise.all([old.destroy(new Error('test over')), next.destroy(new Error('test over'))]));
  await Promise.all([get(old, '/1'), get(old, '/2'), get(old, '/3')]);
  assert.equal(ports.size, 3);
  await new Promise((r) => setTimeout(r, 20)); // a client is free again at its 'drain', just after its answer
  old.handIdleTo(next);
  await old.close();
  ports.clear();
  assert.deepEqual(await Promise.all([get(next, '/x'), get(next, '/y'), get(next, '/z')]), ['200 /x', '200 /y', '200 /z']);
  assert.equal(ports.size, 1, 'one connection, as the limit says');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Client } from 'undici';
import { yieldToIo } from './yield-to-io.ts';

async function listen(t: TestContext, server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  return (server.address() as AddressInfo).port;
}

function holdTheLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

test('a request that arrived while the loop was held is read and sent upstream (on a reused connection) before it resolves', async (t) => {
  const upstreamPort = await listen(t, createServer((_req, res) => res.end('ok')));
  const upstream = new Client(`http://127.0.0.1:${upstreamPort}`);
  t.after(() => upstream.destroy());
  // Once used, the connection is checked for stray bytes before each request: undici writes it in a check phase.
  await (await upstream.request({ path: '/', method: 'GET' })).body.text();
  const front = createServer((_req, res) => {
    upstream.request({ path: '/forwarded', method: 'GET' }).then(({ body }) => body.text()).then(() => res.end(), () => res.destroy());
  });
  const frontPort = await listen(t, front);
  const sent: string[] = [];
  const onSend = ({ request }: { request: { path: string } }) => sent.push(request.path);
  subscribe('undici:client:sendHeaders', onSend as (message: unknown) => void);
  t.after(() => unsubscribe('undici:client:sendHeaders', onSend as (message: unknown) => void));
  const socket = connect(frontPort, '127.0.0.1');
  t.after(() => socket.destroy());
  await Promise.all([once(socket, 'connect'), once(front, 'connection')]);

  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  holdTheLoop(30); // as a synchronous SQLite commit does; the request waits in the socket meanwhile
  await yieldToIo();
  assert.deepEqual(sent, ['/forwarded']);
});

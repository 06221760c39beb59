import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { startUpstream } from '../../test/support/upstream.ts';
import { DEFAULT_CLIENT_LIMITS } from './proxy-server.ts';

test('a body over the app limit gets 413: by Content-Length before anything is sent, chunked as it streams', async (t) => {
  let received = 0;
  const app = await startUpstream(t, 'app', (req, res) => {
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('end', () => res.end('ok'));
    req.on('error', () => {});
  });
  const h = await startProxy(t);
  h.route('blue', [app.url], [], { maxBodyBytes: 1024 });
  const small = await request(h.url, { method: 'POST', body: 'x'.repeat(1024) });
  assert.equal(small.statusCode, 200);
  await small.body.dump();

  const declared = await request(h.url, { method: 'POST', body: 'x'.repeat(2048) });
  assert.equal(declared.statusCode, 413);
  assert.match(await declared.body.text(), /PAYLOAD_TOO_LARGE/);
  assert.equal(app.requests, 1, 'a declared oversize body never reaches the app');

  const chunked = await request(h.url, { method: 'POST', body: Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(600)]) });
  assert.equal(chunked.statusCode, 413);
  await chunked.body.dump();
  assert.ok(received < 1024 + 1024 + 600, `the app got at most the limit of the chunked body (${received} bytes in all)`);
});

test('a request head over maxHeaderSize gets 431', async (t) => {
  const app = await startUpstream(t, 'app');
  const h = await startProxy(t, { client: { ...DEFAULT_CLIENT_LIMITS, maxHeaderBytes: 4096 } });
  h.route('blue', [app.url], []);
  const reply = await raw(h.url, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(8000)}\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 431 /);
  assert.equal(app.requests, 0);
});

test('a client that never finishes its head is closed after requestHead; others are served meanwhile', async (t) => {
  const app = await startUpstream(t, 'app');
  const h = await startProxy(t, { client: { ...DEFAULT_CLIENT_LIMITS, requestHeadMs: 800 } });
  h.route('blue', [app.url], []);
  const port = Number(new URL(h.url).port);
  const slow = connect(port, '127.0.0.1');
  t.after(() => slow.destroy());
  slow.write('GET / HTTP/1.1\r\nhost: x\r\n');
  const drip = setInterval(() => slow.write('x-drip: 1\r\n'), 200);
  t.after(() => clearInterval(drip));
  const started = Date.now();
  const closedAfter = new Promise<number>((resolve) => slow.on('close', () => resolve(Date.now() - started)));
  slow.on('error', () => {});
  const res = await request(h.url);
  assert.equal(await res.body.text(), 'app');
  const ms = await closedAfter;
  assert.ok(ms >= 700 && ms < 3_000, `closed after ${ms} ms`);
});

function raw(url: string, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let reply = '';
    socket.on('data', (c) => (reply += c));
    socket.on('close', () => resolve(reply));
    socket.on('error', () => resolve(reply));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 2_000).unref();
  });
}

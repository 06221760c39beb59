import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '../core/logger.ts';
import { DEFAULT_BACKOFF_MS, WebhookSender, type WebhookSenderOptions } from './webhooks.ts';

interface Received {
  readonly method: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

/** A receiver on port 0 that records every POST and answers with `answer(n)` for the n-th request (from 0). */
async function receiver(t: TestContext, answer: (n: number, res: ServerResponse) => void = (_n, res) => void res.end()) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      answer(received.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`, received };
}

async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/x`;
}

function sender(urls: string[], extra: Partial<WebhookSenderOptions> = {}): WebhookSender {
  return new WebhookSender({ urls, timeoutMs: 1_000, retries: 3, backoffMs: 5, ...extra });
}

function recordingLog(): { log: Logger; warnings: { obj: Record<string, unknown>; msg: string }[] } {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  const log: Logger = { ...silentLogger, warn: ((obj: Record<string, unknown>, msg: string) => void warnings.push({ obj, msg })) as Logger['warn'] };
  return { log, warnings };
}

test('every event is POSTed as JSON to every URL, in order', async (t) => {
  const a = await receiver(t);
  const b = await receiver(t);
  const hooks = sender([a.url, b.url]);
  const events = [1, 2, 3].map((n) => ({ type: 'deployment', phase: `p${n}` }));
  for (const event of events) hooks.send(event);
  await hooks.flush();
  for (const { received } of [a, b]) {
    assert.deepEqual(received.map((r) => r.body), events);
    for (const r of received) {
      assert.equal(r.method, 'POST');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['user-agent'], 'cutover');
    }
  }
  assert.equal(hooks.pending, 0);
});

test('send returns before any delivery starts, and flush waits for it', async (t) => {
  const a = await receiver(t);
  const hooks = sender([a.url]);
  hooks.send({ n: 1 });
  assert.equal(a.received.length, 0);
  assert.equal(hooks.pending, 1);
  await hooks.flush();
  assert.equal(a.received.length, 1);
});

test('network errors, 5xx, 408 and 429 are retried with backoff; other answers are not', async (t) => {
  const cases: { desc: string; statuses: number[]; retries: number; attempts: number; delivered: boolean }[] = [
    { desc: '503 then 200', statuses: [503, 200], retries: 3, attempts: 2, delivered: true },
    { desc: '500 every time, retries 3', statuses: [500, 500, 500, 500, 500], retries: 3, attempts: 4, delivered: false },
    { desc: 'retries 0', statuses: [502, 200], retries: 0, attempts: 1, delivered: false },
    { desc: '429 then 408 then 204', statuses: [429, 408, 204], retries: 3, attempts: 3, delivered: true },
    { desc: '404 is final', statuses: [404, 200], retries: 3, attempts: 1, delivered: false },
    { desc: '301 is final too', statuses: [301, 200], retries: 3, attempts: 1, delivered: false },
  ];
  for (const { desc, statuses, retries, attempts, delivered } of cases) {
    const a = await receiver(t, (n, res) => void res.writeHead(statuses[n] ?? 200).end());
    const { log, warnings } = recordingLog();
    const hooks = sender([a.url], { retries, log });
    hooks.send({ desc });
    await hooks.flush();
    assert.equal(a.received.length, attempts, desc);
    assert.equal(warnings.length, delivered ? 0 : 1, desc);
  }
});

test('the backoff doubles: 0.5 s, 1 s, 2 s by default (scaled down here)', async (t) => {
  const times: number[] = [];
  const a = await receiver(t, (_n, res) => {
    times.push(Date.now());
    res.writeHead(503).end();
  });
  const hooks = sender([a.url], { retries: 3, backoffMs: 40 });
  hooks.send({});
  await hooks.flush();
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  assert.equal(DEFAULT_BACKOFF_MS, 500);
  assert.equal(gaps.length, 3);
  gaps.forEach((gap, i) => assert.ok(gap >= 40 * 2 ** i - 5 && gap < 40 * 2 ** i + 150, `gap ${i} was ${gap}ms`));
});

test('a URL that refuses connections is retried, given up on with a warning that hides its path, and flush still ends', async (t) => {
  const url = await closedUrl();
  const ok = await receiver(t);
  const { log, warnings } = recordingLog();
  const hooks = sender([url, ok.url], { retries: 2, log });
  hooks.send({ type: 'switch' });
  await hooks.flush();
  assert.equal(ok.received.length, 1);
  assert.deepEqual(warnings.map((w) => [w.msg, w.obj.attempts, w.obj.why, w.obj.url]), [
    ['webhook not delivered', 3, 'connection refused', `${new URL(url).origin}/…`],
  ]);
});

test('a receiver slower than the timeout counts as a failed attempt', async (t) => {
  const a = await receiver(t, (n, res) => void (n === 0 ? setTimeout(() => res.end(), 500) : res.end()));
  const hooks = sender([a.url], { timeoutMs: 100 });
  hooks.send({});
  await hooks.flush();
  assert.equal(a.received.length, 2);
});

test('past maxPending the oldest events are dropped, with one warning', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const a = await receiver(t, (n, res) => void (n === 0 ? held.then(() => res.end()) : res.end()));
  const { log, warnings } = recordingLog();
  const hooks = sender([a.url], { maxPending: 3, log });
  hooks.send({ n: 0 });
  await waitFor(() => a.received.length === 1);
  for (let n = 1; n <= 6; n++) hooks.send({ n });
  assert.equal(hooks.pending, 4); // one in flight, three queued
  release();
  await hooks.flush();
  assert.deepEqual(a.received.map((r) => (r.body as { n: number }).n), [0, 4, 5, 6]);
  assert.deepEqual(warnings.map((w) => w.msg), ['webhook queue full; dropping the oldest events', 'webhook backlog cleared']);
  assert.equal(warnings[1]!.obj.dropped, 3);
});

test('an event that is not JSON is logged, not thrown', async (t) => {
  const a = await receiver(t);
  const { log, warnings } = recordingLog();
  const hooks = sender([a.url], { log });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.doesNotThrow(() => hooks.send(cyclic));
  assert.doesNotThrow(() => hooks.send({ big: 1n }));
  await hooks.flush();
  assert.equal(a.received.length, 0);
  assert.equal(warnings.length, 2);
});

test('credentials in the URL are sent as Basic auth', async (t) => {
  const a = await receiver(t);
  const url = new URL(a.url);
  url.username = 'deploy';
  url.password = 'p@ss:word';
  const hooks = sender([url.href]);
  hooks.send({});
  await hooks.flush();
  assert.equal(a.received[0]!.headers.authorization, `Basic ${Buffer.from('deploy:p@ss:word').toString('base64')}`);
});

test('no URLs: send and flush do nothing', async () => {
  const hooks = sender([]);
  hooks.send({ type: 'switch' });
  await hooks.flush();
  assert.equal(hooks.pending, 0);
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'condition not met in time');
}

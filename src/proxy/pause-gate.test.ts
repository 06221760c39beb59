import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { PauseGate } from './pause-gate.ts';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { startUpstream } from '../../test/support/upstream.ts';

test('a paused app holds new requests and releases them in order when it resumes', async (t) => {
  const order: string[] = [];
  const app = await startUpstream(t, 'app', (req, res) => {
    order.push(req.url!);
    res.end(req.url);
  });
  const h = await startProxy(t);
  h.route('blue', [app.url], []);
  h.route('blue', [app.url], [], { pausedUntil: Date.now() + 60_000 });
  const responses: Promise<string>[] = [];
  for (let i = 0; i < 5; i++) {
    responses.push(request(`${h.url}/r${i}`).then((r) => r.body.text()));
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(app.requests, 0, 'nothing reaches the app while paused');
  assert.equal(h.dataPath.held('web'), 5);
  h.route('blue', [app.url], [], { pausedUntil: null });
  assert.deepEqual(await Promise.all(responses), ['/r0', '/r1', '/r2', '/r3', '/r4']);
  assert.deepEqual(order, ['/r0', '/r1', '/r2', '/r3', '/r4']);
});

test('past the queue bound a paused gate refuses with the seconds left as Retry-After', () => {
  const gate = new PauseGate(2);
  gate.set(Date.now() + 30_000);
  const outcomes: string[] = [];
  const held = (name: string) => ({
    res: new EventEmitter() as unknown as ServerResponse,
    go: () => outcomes.push(`${name} went`),
    refuse: (seconds: number, why: string) => outcomes.push(`${name} refused (${why}), retry after ${seconds}s`),
  });
  for (const name of ['a', 'b', 'c']) gate.hold(held(name), Date.now());
  assert.deepEqual(outcomes, ['c refused (full), retry after 30s']);
  gate.set(null);
  assert.deepEqual(outcomes, ['c refused (full), retry after 30s', 'a went', 'b went']);
  assert.equal(gate.paused, false);

  gate.set(Date.now() + 30_000);
  gate.hold(held('d'), Date.now());
  gate.close(Date.now());
  gate.hold(held('e'), Date.now());
  assert.deepEqual(outcomes.slice(3), ['d refused (closing), retry after 30s', 'e refused (closing), retry after 30s'], 'once closing, nothing is held');
});

test('a cutover that shuts down while paused answers what it holds 503 at once, with the pause\'s time left', async (t) => {
  const app = await startUpstream(t, 'app');
  const h = await startProxy(t);
  h.route('blue', [app.url], [], { pausedUntil: Date.now() + 30_000 });
  // Its own connection each: the shutdown's 'connection: close' must not keep the second from being sent.
  const send = () => request(h.url, { dispatcher: new Agent() }).then(async (r) => `${r.statusCode} ${r.headers['retry-after']} ${(await r.body.text()).split(':')[0]}`);
  const held = send();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.dataPath.held('web'), 1);
  const started = Date.now();
  const closed = h.proxy.close(5_000);
  assert.equal(await held, '503 30 PAUSED');
  assert.ok(Date.now() - started < 1_000, 'at once, not at the end of the drain');
  await closed;
  assert.equal(app.requests, 0, 'the pause held: nothing reached the app');
});

test('a gate releases what it holds at the pause\'s end by itself, without a new route table', async () => {
  const gate = new PauseGate();
  gate.set(Date.now() + 100);
  const went: string[] = [];
  gate.hold({ res: new EventEmitter() as unknown as ServerResponse, go: () => went.push('a'), refuse: () => went.push('refused') }, Date.now());
  assert.deepEqual(went, []);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(went, ['a']);
  assert.equal(gate.paused, false);
});

test('a client that gives up while held leaves the queue', async (t) => {
  const app = await startUpstream(t, 'app');
  const h = await startProxy(t);
  h.route('blue', [app.url], [], { pausedUntil: Date.now() + 30_000 });
  const controller = new AbortController();
  const gone = request(h.url, { signal: controller.signal }).catch(() => 'aborted');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.dataPath.held('web'), 1);
  controller.abort();
  assert.equal(await gone, 'aborted');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.dataPath.held('web'), 0);
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { CutoverEvent } from '../core/events.ts';
import { deploy, startCutover, type Running } from '../../test/support/cutover-harness.ts';
import { startUpstream } from '../../test/support/upstream.ts';

interface Frame {
  readonly id: string | null;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

interface Stream {
  readonly frames: Frame[];
  /** Resolves once `done(frames)` holds; rejects after `ms`. */
  until(done: (frames: Frame[]) => boolean, ms?: number): Promise<void>;
  close(): void;
}

/** GET /api/events, its frames parsed as they arrive (RFC: WHATWG HTML, "Server-sent events"). */
async function openStream(t: TestContext, run: Running, headers: Record<string, string> = {}, query = ''): Promise<Stream> {
  const res = await request(`${run.adminUrl}/api/events${query}`, { headers });
  assert.equal(res.statusCode, 200);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  void (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (frame !== null) frames.push(frame);
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // closed by the test
    }
  })();
  const close = () => res.body.destroy();
  t.after(close);
  return {
    frames,
    close,
    until: (done, ms = 10_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stream: condition not met in ${ms} ms; got ${frames.map((f) => f.event).join(', ')}`)), ms);
      const check = () => {
        if (!done(frames)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    }),
  };
}

function parseFrame(text: string): Frame | null {
  let id: string | null = null;
  let event = 'message';
  let data = '';
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) continue;
    const [field, ...rest] = line.split(': ');
    const value = rest.join(': ');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data += value;
  }
  return data === '' ? null : { id, event, data: JSON.parse(data) as Record<string, unknown> };
}

/** Every event the hub emits from now on, as the ground truth of what a client should see. */
function record(run: Running): CutoverEvent[] {
  const seen: CutoverEvent[] = [];
  run.cutover.events.subscribe((e) => seen.push(e));
  return seen;
}

test('a client that reconnects with Last-Event-ID gets exactly the events it missed, in order', async (t) => {
  const run = await startCutover(t);
  const all = record(run);
  const v1 = await startUpstream(t, 'v1');
  const first = await openStream(t, run);
  await deploy(run, 'v1', [v1.url]);
  await first.until((frames) => frames.some((f) => f.event === 'switch'));
  first.close(); // mid-stream: what the deployment emitted after the switch may not have reached the client
  const lastId = first.frames.at(-1)!.id!;

  // While the client is away: a whole deployment, a pause and a resume.
  const v2 = await startUpstream(t, 'v2');
  await deploy(run, 'v2', [v2.url]);
  await run.api('POST', '/api/apps/web/pause', { maxMs: 5_000 });
  await run.api('POST', '/api/apps/web/resume', {});
  const missed = all.filter((e) => e.id > Number(lastId));
  assert.ok(missed.length >= 8, `${missed.length} events missed`);

  const second = await openStream(t, run, { 'last-event-id': lastId });
  await second.until((frames) => frames.length >= missed.length);
  assert.deepEqual(
    second.frames.slice(0, missed.length).map((f) => [Number(f.id), f.event]),
    missed.map((e) => [e.id, e.type]),
  );
  assert.deepEqual(second.frames[0]!.data, JSON.parse(JSON.stringify(missed[0])), 'each replayed with its data');
  const ids = second.frames.map((f) => Number(f.id));
  assert.deepEqual(ids, ids.map((_, i) => Number(lastId) + 1 + i), 'ids follow on one by one: nothing skipped');

  // And after the replay, the stream goes on live.
  run.cutover.events.emit({ type: 'config.reloaded', added: [], removed: [], needsRestart: [] });
  await second.until((frames) => frames.at(-1)?.event === 'config.reloaded');
  assert.equal(second.frames.length, missed.length + 1);
});

test('an app filter replays only that app\'s events, and ?since= works like Last-Event-ID', async (t) => {
  const run = await startCutover(t);
  const all = record(run);
  const hub = run.cutover.events;
  hub.emit({ type: 'probe', app: 'web' });
  const lastId = all.at(-1)!.id;
  hub.emit({ type: 'probe', app: 'api', n: 1 });
  hub.emit({ type: 'probe', app: 'web', n: 2 });
  hub.emit({ type: 'probe', app: 'web', n: 3 });
  const stream = await openStream(t, run, {}, `?app=web&since=${lastId}`);
  await stream.until((frames) => frames.length >= 2);
  assert.deepEqual(stream.frames.map((f) => f.data.n), [2, 3]);
});

test('when the missed events are no longer held, the stream says reset instead of skipping them', async (t) => {
  const run = await startCutover(t);
  const all = record(run);
  const hub = run.cutover.events;
  hub.emit({ type: 'probe', app: 'web' });
  const lastId = all.at(-1)!.id;
  for (let i = 0; i < 1_100; i++) hub.emit({ type: 'probe', app: 'web', n: i }); // more than the hub's ring
  const latest = all.at(-1)!.id;

  const cases: { desc: string; headers: Record<string, string> }[] = [
    { desc: 'an id that fell out of the ring', headers: { 'last-event-id': String(lastId) } },
    { desc: 'an id from an earlier run of cutover', headers: { 'last-event-id': '42' } },
    { desc: 'an id this run has not given yet', headers: { 'last-event-id': String(latest + 100) } },
    { desc: 'not an id at all', headers: { 'last-event-id': 'abc' } },
  ];
  for (const c of cases) {
    const stream = await openStream(t, run, c.headers);
    await stream.until((frames) => frames.length >= 1);
    assert.equal(stream.frames[0]!.event, 'reset', c.desc);
    assert.equal(stream.frames[0]!.id, String(latest), `${c.desc}: the reset carries the latest id`);
    stream.close();
  }

  // Resuming from the reset's id: nothing replayed, live events follow.
  const resumed = await openStream(t, run, { 'last-event-id': String(latest) });
  hub.emit({ type: 'probe', app: 'web', n: 'live' });
  await resumed.until((frames) => frames.length >= 1);
  assert.deepEqual(resumed.frames.map((f) => f.data.n), ['live']);
});

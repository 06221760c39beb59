import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub, RECENT_EVENTS } from './events.ts';

const T0 = 1_700_000_000_000;

test('ids increase by one from the clock at start, so a later run never reuses an earlier one\'s', () => {
  const earlier = new EventHub(() => T0);
  for (let i = 0; i < 5; i++) earlier.emit({ type: 'probe' });
  const ids = earlier.since(0).map((e) => e.id);
  assert.deepEqual(ids, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
  const later = new EventHub(() => T0 + 60_000);
  assert.equal(later.resume(ids.at(-1)!).complete, false, 'an id of the earlier run');
});

test('resume gives every event after an id while the hub holds them all', () => {
  const hub = new EventHub(() => T0);
  const cases: { desc: string; emitted: number; lastId: number; want: number[] | 'reset' }[] = [
    { desc: 'nothing emitted, nothing seen', emitted: 0, lastId: T0 - 1, want: [] },
    { desc: 'saw the first of three', emitted: 3, lastId: T0, want: [T0 + 1, T0 + 2] },
    { desc: 'saw nothing of three yet', emitted: 3, lastId: T0 - 1, want: [T0, T0 + 1, T0 + 2] },
    { desc: 'saw the latest', emitted: 3, lastId: T0 + 2, want: [] },
    { desc: 'an id not given yet', emitted: 3, lastId: T0 + 3, want: 'reset' },
    { desc: 'before this run', emitted: 3, lastId: 17, want: 'reset' },
    { desc: 'not a whole number', emitted: 3, lastId: T0 + 0.5, want: 'reset' },
    { desc: 'NaN', emitted: 3, lastId: NaN, want: 'reset' },
  ];
  let emitted = 0;
  for (const c of cases) {
    for (; emitted < c.emitted; emitted++) hub.emit({ type: 'probe' });
    const got = hub.resume(c.lastId);
    if (c.want === 'reset') assert.deepEqual(got, { complete: false, latestId: T0 + emitted - 1 }, c.desc);
    else assert.deepEqual(got.complete ? got.events.map((e) => e.id) : got, c.want, c.desc);
  }
});

test('once the ring overflowed, an id older than what it holds cannot resume', () => {
  const hub = new EventHub(() => T0);
  for (let i = 0; i < RECENT_EVENTS + 10; i++) hub.emit({ type: 'probe' });
  const oldest = hub.since(0)[0]!.id;
  assert.equal(oldest, T0 + 10);
  assert.equal(hub.resume(oldest - 2).complete, false, 'the event right after it is gone');
  const resumed = hub.resume(oldest - 1);
  assert.ok(resumed.complete && resumed.events.length === RECENT_EVENTS, 'everything after it is still held');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newAppRecord, type AppRecord } from '../core/types.ts';
import { flipLive, withEnv, withPause } from './app-state.ts';
import { rebase } from './record-rebase.ts';

const base: AppRecord = { ...flipLive(withEnv(newAppRecord('web', 1_000), 'blue', { version: 'v1', targets: ['http://127.0.0.1:1'] }, 1_000), 'blue', 'standby', 1_000), revision: 5 };
/** Another write stored meanwhile: a new revision. */
const stored = (record: AppRecord): AppRecord => ({ ...record, revision: base.revision + 1 });

test('a change carried onto a newer record: parts only one side changed come from that side; the same part changed twice is a conflict', () => {
  const deploying = withEnv(base, 'green', { version: 'v2', state: 'deploying', targets: ['http://127.0.0.1:2'] }, 2_000);
  const cases: { desc: string; ours: AppRecord; theirs: AppRecord; want: AppRecord | null }[] = [
    {
      desc: 'a deployment step over a pause',
      ours: deploying,
      theirs: stored(withPause(base, 9_000)),
      want: { ...withPause(deploying, 9_000), revision: 6 },
    },
    {
      desc: 'a pause over a switch',
      ours: withPause(base, 9_000),
      theirs: stored(flipLive(base, 'green', 'standby', 3_000)),
      want: { ...withPause(flipLive(base, 'green', 'standby', 3_000), 9_000), revision: 6 },
    },
    { desc: 'both changed the same environment', ours: deploying, theirs: stored(withEnv(base, 'green', { state: 'retired' }, 2_500)), want: null },
    { desc: 'two switches (live and generation both moved)', ours: flipLive(base, 'green', 'standby', 3_000), theirs: stored(flipLive(base, 'green', 'standby', 3_100)), want: null },
    { desc: 'two pauses with different ends', ours: withPause(base, 9_000), theirs: stored(withPause(base, 8_000)), want: null },
    { desc: 'the same change on both sides', ours: withPause(base, 9_000), theirs: stored(withPause(base, 9_000)), want: { ...withPause(base, 9_000), revision: 6 } },
    { desc: 'nothing changed here: theirs as it is', ours: base, theirs: stored(withPause(base, 9_000)), want: stored(withPause(base, 9_000)) },
  ];
  for (const c of cases) assert.deepEqual(rebase(base, c.ours, c.theirs), c.want, c.desc);
});

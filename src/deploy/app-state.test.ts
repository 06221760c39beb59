import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newAppRecord, type AppRecord, type Color, type EnvState } from '../core/types.ts';
import { flipLive, flipTarget, roleOf, withEnv } from './app-state.ts';

function app(live: Color | null, blue: EnvState, green: EnvState): AppRecord {
  let a: AppRecord = { ...newAppRecord('web', 0), live };
  a = withEnv(a, 'blue', { state: blue, version: blue === 'empty' ? null : 'v1', targets: blue === 'empty' ? [] : ['http://127.0.0.1:1'] }, 0);
  return withEnv(a, 'green', { state: green, version: green === 'empty' ? null : 'v2', targets: green === 'empty' ? [] : ['http://127.0.0.1:2'] }, 0);
}

test('flipTarget: which environment a switch or rollback would make live', () => {
  const cases: { desc: string; app: AppRecord; want: Color | null }[] = [
    { desc: 'nothing deployed', app: app(null, 'empty', 'empty'), want: null },
    { desc: 'first deployment ready, nothing live', app: app(null, 'ready', 'empty'), want: 'blue' },
    { desc: 'candidate ready', app: app('blue', 'live', 'ready'), want: 'green' },
    { desc: 'standby after a switch: not a candidate (going back is a rollback)', app: app('green', 'standby', 'live'), want: null },
    { desc: 'candidate still deploying', app: app('blue', 'live', 'deploying'), want: null },
    { desc: 'candidate failed', app: app('blue', 'live', 'failed'), want: null },
    { desc: 'other env empty', app: app('blue', 'live', 'empty'), want: null },
  ];
  for (const c of cases) assert.equal(flipTarget(c.app), c.want, c.desc);
});

test('a rollback only goes back to the standby, never to a candidate that was not live yet', () => {
  assert.equal(flipTarget(app('green', 'standby', 'live'), 'rollback'), 'blue');
  assert.equal(flipTarget(app('green', 'ready', 'live'), 'rollback'), null);
  assert.equal(flipTarget(app('green', 'retired', 'live'), 'rollback'), null);
});

test('flipLive: a switch leaves the old env standby, a rollback leaves it ready', () => {
  const switched = flipLive(app('blue', 'live', 'ready'), 'green', 'standby', 5);
  assert.deepEqual([switched.live, switched.envs.blue.state, switched.envs.green.state], ['green', 'standby', 'live']);
  assert.equal(switched.generation, 1);
  const rolledBack = flipLive(switched, 'blue', 'ready', 6);
  assert.deepEqual([rolledBack.live, rolledBack.envs.blue.state, rolledBack.envs.green.state], ['blue', 'live', 'ready']);
  assert.equal(rolledBack.generation, 2);
  assert.equal(rolledBack.envs.green.since, 6);
});

test('flipLive on the first deployment only makes it live', () => {
  const first = flipLive(app(null, 'ready', 'empty'), 'blue', 'standby', 1);
  assert.deepEqual([first.live, first.envs.blue.state, first.envs.green.state], ['blue', 'live', 'empty']);
});

test('roleOf names each environment for status', () => {
  const cases: { app: AppRecord; blue: string; green: string }[] = [
    { app: app('blue', 'live', 'ready'), blue: 'live', green: 'candidate' },
    { app: app('blue', 'live', 'deploying'), blue: 'live', green: 'candidate' },
    { app: app('green', 'standby', 'live'), blue: 'standby', green: 'live' },
    { app: app('blue', 'live', 'failed'), blue: 'live', green: 'idle' },
  ];
  for (const c of cases) assert.deepEqual([roleOf(c.app, 'blue'), roleOf(c.app, 'green')], [c.blue, c.green]);
});

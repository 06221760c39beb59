import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newAppRecord, otherColor } from './types.ts';

test('otherColor flips blue and green', () => {
  assert.equal(otherColor('blue'), 'green');
  assert.equal(otherColor('green'), 'blue');
});

test('a new app has two empty environments and nothing live', () => {
  const app = newAppRecord('web', 5);
  assert.equal(app.live, null);
  assert.equal(app.envs.blue.state, 'empty');
  assert.deepEqual(app.envs.green.targets, []);
});

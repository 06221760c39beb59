import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamErrorCounter } from './upstream-errors.ts';

test('upstream errors are counted by app, color and kind, zeros shown once an app failed', () => {
  const counter = new UpstreamErrorCounter();
  assert.deepEqual(counter.counts(), []);
  counter.count('web', 'green', 'connect');
  counter.count('web', 'green', 'connect');
  counter.count('web', 'blue', 'timeout');
  counter.count('api', 'blue', 'other');
  const nonZero = counter.counts().filter((c) => c.count > 0).map((c) => [c.app, c.color, c.kind, c.count]);
  assert.deepEqual(nonZero, [
    ['api', 'blue', 'other', 1],
    ['web', 'blue', 'timeout', 1],
    ['web', 'green', 'connect', 2],
  ]);
  assert.equal(counter.counts().length, 2 * 2 * 4, 'two apps × two colors × four kinds');
});

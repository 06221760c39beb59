import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsRegistry } from './stats-registry.ts';

const T0 = 1_700_000_000_000;

test('forEnv hands out one EnvStats per app and color, for good', () => {
  const registry = new StatsRegistry({ clock: { now: () => T0 } });
  const blue = registry.forEnv('web', 'blue');
  assert.equal(registry.forEnv('web', 'blue'), blue);
  assert.notEqual(registry.forEnv('web', 'green'), blue);
  assert.notEqual(registry.forEnv('api', 'blue'), blue);
});

test('reset clears an environment in place, so the data path keeps recording into it', () => {
  const registry = new StatsRegistry({ clock: { now: () => T0 } });
  const green = registry.forEnv('web', 'green');
  green.record(500, 10);
  registry.forEnv('web', 'blue').record(200, 10);
  registry.reset('web', 'green');
  registry.reset('nope', 'blue');
  assert.equal(registry.forEnv('web', 'green'), green);
  assert.equal(green.snapshot(60_000).requests, 0);
  assert.equal(registry.forEnv('web', 'blue').snapshot(60_000).requests, 1);
});

test('snapshotAll lists every environment by app then color', () => {
  const registry = new StatsRegistry({ clock: { now: () => T0 } });
  registry.forEnv('web', 'green').record(502, 10);
  registry.forEnv('api', 'blue').record(200, 10);
  registry.forEnv('web', 'blue');
  const all = registry.snapshotAll();
  assert.deepEqual(all.map((e) => [e.app, e.color, e.requests, e.errors5xx]), [
    ['api', 'blue', 1, 0],
    ['web', 'blue', 0, 0],
    ['web', 'green', 1, 1],
  ]);
  registry.removeApp('web');
  assert.deepEqual(registry.snapshotAll().map((e) => e.app), ['api']);
});

test('peek finds an environment without creating one', () => {
  const registry = new StatsRegistry({ clock: { now: () => T0 } });
  assert.equal(registry.peek('web', 'blue'), undefined);
  const blue = registry.forEnv('web', 'blue');
  assert.equal(registry.peek('web', 'blue'), blue);
  assert.deepEqual(registry.snapshotAll().map((e) => e.color), ['blue'], 'peek made nothing');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TargetRegistry } from '../pool/target-registry.ts';
import { DataPath, flipsBetween, ROUTE_TABLE_CHANNEL } from './data-path.ts';
import type { AppRoute, RouteTable } from './route-table.ts';

test('each route table applied is published on its diagnostics channel, after the router serves it', (t) => {
  const registry = new TargetRegistry({ listener: { onTargetHealth: () => {} }, clock: Date.now, settings: () => { throw new Error('no targets here'); } });
  t.after(() => registry.close(0));
  const dataPath = new DataPath({ registry, stats: null });
  const seen: { generation: number; routerGeneration: number }[] = [];
  const onApplied = (message: unknown) => seen.push({ generation: (message as { generation: number }).generation, routerGeneration: dataPath.generation });
  subscribe(ROUTE_TABLE_CHANNEL, onApplied);
  t.after(() => unsubscribe(ROUTE_TABLE_CHANNEL, onApplied));
  dataPath.apply({ generation: 7, apps: [] });
  dataPath.apply({ generation: 8, apps: [] });
  assert.deepEqual(seen, [{ generation: 7, routerGeneration: 7 }, { generation: 8, routerGeneration: 8 }]);
});

function route(name: string, live: AppRoute['live']): AppRoute {
  const env = (color: 'blue' | 'green') => ({ color, version: null, targets: [] });
  return { name, hosts: [], live, drainMs: 0, drainJitterMs: 0, maxBodyBytes: 0, envs: { blue: env('blue'), green: env('green') }, preview: null, pausedUntil: null };
}

test('a flip, for opening connections to the new live environment, is an app in both tables whose live changed to one', () => {
  const table = (...apps: AppRoute[]) => ({ generation: 1, apps });
  const flipped = (before: RouteTable, after: RouteTable) => flipsBetween(before, after).map((f) => `${f.after.name}: ${f.before.live} → ${f.after.live}`);
  assert.deepEqual(flipped(table(route('web', null)), table(route('web', 'blue'))), ['web: null → blue'], 'the first deployment');
  assert.deepEqual(flipped(table(route('web', 'blue'), route('api', 'green')), table(route('web', 'green'), route('api', 'green'))), ['web: blue → green'], 'only the app that flipped');
  assert.deepEqual(flipped(table(), table(route('web', 'blue'))), [], 'an app new in the table (a reload, a new process) has nothing to compare with');
  assert.deepEqual(flipped(table(route('web', 'blue')), table()), [], 'an app removed');
  assert.deepEqual(flipped(table(route('web', 'blue')), table(route('web', null))), [], 'nothing live any more');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TargetRegistry } from '../pool/target-registry.ts';
import { DataPath, ROUTE_TABLE_CHANNEL } from './data-path.ts';

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

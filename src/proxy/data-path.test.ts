import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { TargetRegistry } from '../pool/target-registry.ts';
import { DataPath, flipsBetween, ROUTE_TABLE_CHANNEL } from './data-path.ts';
import type { AppRoute, RouteTable } from './route-table.ts';
import { eventually } from '../../test/support/cutover-harness.ts';
import { startProxy } from '../../test/support/proxy-harness.ts';
import { startUpstream } from '../../test/support/upstream.ts';

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
  const env = (color: 'blue' | 'green') => ({ color, version: null, state: 'empty' as const, targets: [] });
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

test('a ready candidate gets a connection for the switch once it is healthy, and only once, however many tables come', async (t) => {
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  // Green's connections, each with the paths requested over it: health probes carry /healthz, a spare nothing.
  const seen = new Map<Socket, string[]>();
  green.server.on('connection', (socket: Socket) => seen.set(socket, []));
  green.server.on('request', (req) => seen.get(req.socket)?.push(req.url ?? ''));
  const spares = () => [...seen].filter(([socket, paths]) => paths.length === 0 && !socket.destroyed).length;
  const h = await startProxy(t);
  h.route('blue', [blue.url], []);
  // Green is the candidate, ready; its target starts unhealthy (a candidate's does) until a probe passes.
  h.route('blue', [blue.url], [green.url]);
  await eventually(() => h.target('green', green.url).healthy, 3_000, 'green healthy');
  h.route('blue', [blue.url], [green.url]);
  await eventually(() => spares() === 1, 3_000, 'a connection opened ahead');
  // Nobody took it: it closes after SPARE_MS, and tables that change nothing about the candidate open no other.
  await eventually(() => spares() === 0, 5_000, 'the unused spare closed');
  for (let i = 0; i < 5; i++) h.route('blue', [blue.url], [green.url], { pausedUntil: i % 2 === 0 ? Date.now() + 60_000 : null });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(spares(), 0, 'pauses and resumes opened none');
  assert.ok([...seen.values()].every((paths) => paths.every((p) => p === '/healthz')), 'no request went to green');
});

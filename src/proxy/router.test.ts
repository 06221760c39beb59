import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetRegistry } from '../pool/target-registry.ts';
import { PauseGate } from './pause-gate.ts';
import { Router } from './router.ts';
import type { AppRoute, RouteTable } from './route-table.ts';

function route(name: string, hosts: string[]): AppRoute {
  const env = { version: null, state: 'empty' as const, targets: [] };
  return { name, hosts, live: null, drainMs: 0, drainJitterMs: 0, maxBodyBytes: 0, preview: null, pausedUntil: null, envs: { blue: { color: 'blue', ...env }, green: { color: 'green', ...env } } };
}

test('the app is chosen by Host, case and port ignored, else the default app', (t) => {
  const registry = new TargetRegistry({
    listener: { onTargetHealth: () => {} },
    clock: Date.now,
    settings: () => {
      throw new Error('no targets here');
    },
  });
  t.after(() => registry.close(0));
  const table: RouteTable = { generation: 1, apps: [route('shop', ['shop.example', 'www.shop.example']), route('web', []), route('v6', ['[::1]'])] };
  const parts = { stats: null, gate: () => new PauseGate() };
  const router = new Router(table, registry, parts);
  const cases: { host: string | undefined; want: string | undefined }[] = [
    { host: 'shop.example', want: 'shop' },
    { host: 'SHOP.Example:8080', want: 'shop' },
    { host: 'www.shop.example', want: 'shop' },
    { host: 'other.example', want: 'web' },
    { host: undefined, want: 'web' },
    { host: '[::1]:8080', want: 'v6' },
  ];
  for (const c of cases) assert.equal(router.match(c.host)?.name, c.want, String(c.host));
  const noDefault = new Router({ generation: 2, apps: [route('shop', ['shop.example'])] }, registry, parts);
  assert.equal(noDefault.match('other.example'), null);
});

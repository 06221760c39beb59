import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './schema.ts';

const ETCD = { etcd: { endpoints: ['http://127.0.0.1:2379'] } };
const PROCESS = { process: { command: 'node app.js' } };

test('with state.etcd the process driver is refused by its path; static apps and SQLite are not', () => {
  const cases: { desc: string; state: unknown; driver: unknown; want: string[] }[] = [
    { desc: 'etcd, process', state: ETCD, driver: PROCESS, want: ['apps.web.driver'] },
    { desc: 'etcd, static', state: ETCD, driver: { static: {} }, want: [] },
    { desc: 'etcd, no driver (static)', state: ETCD, driver: undefined, want: [] },
    { desc: 'sqlite, process', state: { sqlite: ':memory:' }, driver: PROCESS, want: [] },
  ];
  for (const c of cases) {
    const result = validateConfig({ state: c.state, apps: { web: c.driver === undefined ? {} : { driver: c.driver } } });
    const paths = result.ok ? [] : result.problems.map((p) => p.path);
    assert.deepEqual(paths, c.want, c.desc);
  }
  const refused = validateConfig({ state: ETCD, apps: { web: { driver: PROCESS } } });
  assert.ok(!refused.ok);
  assert.match(refused.problems[0]!.message, /process driver runs its processes on one machine.*use the static driver/);
});

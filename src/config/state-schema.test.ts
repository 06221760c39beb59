import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigProblem } from '../core/errors.ts';
import { ConfigReader } from './reader.ts';
import { localStateDir, readState, type EtcdSettings, type StateConfig } from './state-schema.ts';
import { TEST_BASE_DIR } from './schema-testing.ts';

function read(raw: unknown, baseDir = TEST_BASE_DIR): { state: StateConfig; problems: readonly ConfigProblem[] } {
  const r = new ConfigReader();
  const state = readState(raw, baseDir, r);
  return { state, problems: r.problems };
}

function etcd(overrides: Partial<EtcdSettings>): StateConfig {
  const defaults = { endpoints: [], prefix: '/cutover', username: null, password: null, tls: null, timeoutMs: 2_000, leaseMs: 5_000 };
  return { etcd: { ...defaults, ...overrides } };
}

test('state is a SQLite file by default, or etcd with its defaults filled in', () => {
  const cases: { desc: string; raw: unknown; want: StateConfig }[] = [
    { desc: 'absent', raw: undefined, want: { sqlite: `${TEST_BASE_DIR}/cutover.db` } },
    { desc: 'sqlite', raw: { sqlite: './data/c.db' }, want: { sqlite: `${TEST_BASE_DIR}/data/c.db` } },
    {
      desc: 'etcd with one endpoint',
      raw: { etcd: { endpoints: ['http://127.0.0.1:2379'] } },
      want: etcd({ endpoints: ['http://127.0.0.1:2379'] }),
    },
    {
      desc: 'etcd with every key',
      raw: {
        etcd: {
          endpoints: ['https://A.example.com:2379', 'https://10.0.0.2:2379/', 'https://[::1]:2379'],
          prefix: '/shop/cutover',
          username: 'cutover',
          password: 'secret',
          timeout: '500ms',
          lease: '2s',
        },
      },
      want: etcd({
        endpoints: ['https://a.example.com:2379', 'https://10.0.0.2:2379', 'https://[::1]:2379'],
        prefix: '/shop/cutover',
        username: 'cutover',
        password: 'secret',
        timeoutMs: 500,
        leaseMs: 2_000,
      }),
    },
    {
      desc: 'an explicit default port',
      raw: { etcd: { endpoints: ['http://etcd:80'] } },
      want: etcd({ endpoints: ['http://etcd:80'] }),
    },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw), { state: c.want, problems: [] }, c.desc);
});

test('etcd TLS files resolve against the config folder and must be readable', (t) => {
  const dir = tempDir(t);
  for (const name of ['ca.crt', 'c.crt', 'c.key']) writeFileSync(join(dir, name), 'PEM');
  const https = ['https://10.0.0.1:2379'];
  const full = read({ etcd: { endpoints: https, tls: { ca: './ca.crt', cert: 'c.crt', key: join(dir, 'c.key') } } }, dir);
  assert.deepEqual(full, {
    state: etcd({ endpoints: https, tls: { ca: join(dir, 'ca.crt'), cert: join(dir, 'c.crt'), key: join(dir, 'c.key') } }),
    problems: [],
  });
  const caOnly = read({ etcd: { endpoints: https, tls: { ca: './ca.crt' } } }, dir);
  assert.deepEqual(caOnly.state, etcd({ endpoints: https, tls: { ca: join(dir, 'ca.crt'), cert: null, key: null } }));
  assert.deepEqual(read({ etcd: { endpoints: https, tls: { ca: './missing.crt' } } }, dir).problems, [
    { path: 'state.etcd.tls.ca', message: `cannot read ${join(dir, 'missing.crt')} (ENOENT)` },
  ]);
});

test('a bad state section names its path and says what fits', () => {
  const url = 'http://127.0.0.1:2379';
  const at = (path: string, message: string): ConfigProblem => ({ path, message });
  const cases: { desc: string; raw: unknown; want: ConfigProblem[] }[] = [
    { desc: 'both stores', raw: { sqlite: './c.db', etcd: { endpoints: [url] } }, want: [at('state', 'takes sqlite or etcd, not both')] },
    { desc: 'etcd as a string', raw: { etcd: url }, want: [at('state.etcd', `must be a mapping like { endpoints: [${url}] }`)] },
    { desc: 'no endpoints', raw: { etcd: { prefix: '/x' } }, want: [at('state.etcd', `needs endpoints, like [${url}]`)] },
    { desc: 'an empty list', raw: { etcd: { endpoints: [] } }, want: [at('state.etcd.endpoints', `must be a list of one or more URLs, like [${url}]`)] },
    { desc: 'one string', raw: { etcd: { endpoints: url } }, want: [at('state.etcd.endpoints', `must be a list of one or more URLs, like [${url}]`)] },
    { desc: 'a number', raw: { etcd: { endpoints: [2379] } }, want: [at('state.etcd.endpoints[0]', `must be a URL like ${url}`)] },
    { desc: 'host:port only', raw: { etcd: { endpoints: ['10.0.0.1:2379'] } }, want: [at('state.etcd.endpoints[0]', 'needs a scheme: http://10.0.0.1:2379, or https:// for TLS')] },
    { desc: 'localhost:port', raw: { etcd: { endpoints: ['localhost:2379'] } }, want: [at('state.etcd.endpoints[0]', 'needs a scheme: http://localhost:2379, or https:// for TLS')] },
    { desc: 'not a URL', raw: { etcd: { endpoints: ['http://'] } }, want: [at('state.etcd.endpoints[0]', `"http://" is not a URL; write it like ${url}`)] },
    { desc: 'grpc scheme', raw: { etcd: { endpoints: ['grpc://e:2379'] } }, want: [at('state.etcd.endpoints[0]', 'must start with http:// or https://')] },
    { desc: 'no port', raw: { etcd: { endpoints: ['https://etcd.internal'] } }, want: [at('state.etcd.endpoints[0]', 'needs a port, like https://etcd.internal:2379')] },
    {
      desc: 'a path and credentials',
      raw: { etcd: { endpoints: ['http://u:p@e:2379/v3'] } },
      want: [at('state.etcd.endpoints[0]', `must be only a scheme, a host and a port, like ${url}; credentials go in username and password`)],
    },
    { desc: 'twice', raw: { etcd: { endpoints: [url, 'HTTP://127.0.0.1:2379'] } }, want: [at('state.etcd.endpoints[1]', `${url} is listed twice`)] },
    {
      desc: 'mixed schemes',
      raw: { etcd: { endpoints: [url, 'https://10.0.0.2:2379'] } },
      want: [at('state.etcd.endpoints', 'mixes http:// and https://; use one for every endpoint')],
    },
    ...['cutover', '/cutover/', '/', '/a b'].map((prefix) => ({
      desc: `prefix ${prefix}`,
      raw: { etcd: { endpoints: [url], prefix } },
      want: [at('state.etcd.prefix', 'must be a key path like /cutover: starting with /, not ending with /, without spaces')],
    })),
    { desc: 'a username alone', raw: { etcd: { endpoints: [url], username: 'u' } }, want: [at('state.etcd', 'has a username but no password; give both')] },
    { desc: 'a password alone', raw: { etcd: { endpoints: [url], password: 'p' } }, want: [at('state.etcd', 'has a password but no username; give both')] },
    { desc: 'an empty password', raw: { etcd: { endpoints: [url], username: 'u', password: '' } }, want: [at('state.etcd.password', 'must not be empty')] },
    { desc: 'a bare timeout', raw: { etcd: { endpoints: [url], timeout: 2 } }, want: [at('state.etcd.timeout', 'has no unit; write 2s or 2ms')] },
    { desc: 'a zero timeout', raw: { etcd: { endpoints: [url], timeout: '0s' } }, want: [at('state.etcd.timeout', 'must be longer than 0')] },
    ...['500ms', '1500ms'].map((lease) => ({
      desc: `lease ${lease}`,
      raw: { etcd: { endpoints: [url], lease } },
      want: [at('state.etcd.lease', 'must be whole seconds, at least 1s, like 5s (etcd grants leases in seconds)')],
    })),
    {
      desc: 'tls with http endpoints',
      raw: { etcd: { endpoints: [url], tls: { ca: '/dev/null' } } },
      want: [at('state.etcd.tls', 'is given, but the endpoints use http://; write them with https://')],
    },
    {
      desc: 'an empty tls',
      raw: { etcd: { endpoints: ['https://e:2379'], tls: {} } },
      want: [at('state.etcd.tls', 'needs a ca, or a cert and a key, like { ca: ./etcd-ca.crt }')],
    },
    { desc: 'a cert without key', raw: { etcd: { endpoints: ['https://e:2379'], tls: { cert: '/dev/null' } } }, want: [at('state.etcd.tls', 'has a cert but no key; give both')] },
    { desc: 'a misspelt key', raw: { etcd: { endpoints: [url], endpoint: url } }, want: [at('state.etcd.endpoint', 'unknown key; did you mean `endpoints`?')] },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw).problems, c.want, c.desc);
});

test('local state lives beside the SQLite file, or beside the config file with etcd', () => {
  const withEtcd = etcd({ endpoints: ['http://127.0.0.1:2379'] });
  const cases: { desc: string; state: StateConfig; source: string | null; want: string | null }[] = [
    { desc: 'sqlite', state: { sqlite: '/var/lib/cutover/cutover.db' }, source: '/etc/cutover/cutover.yaml', want: '/var/lib/cutover' },
    { desc: 'sqlite in memory', state: { sqlite: ':memory:' }, source: '/etc/cutover/cutover.yaml', want: null },
    { desc: 'etcd', state: withEtcd, source: '/etc/cutover/cutover.yaml', want: '/etc/cutover' },
    { desc: 'etcd, config from code', state: withEtcd, source: null, want: null },
  ];
  for (const c of cases) assert.equal(localStateDir({ state: c.state, source: c.source }), c.want, c.desc);
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-state-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

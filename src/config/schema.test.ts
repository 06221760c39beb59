import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../core/errors.ts';
import type { AppConfig, Config } from './config.ts';
import { DEFAULT_ANALYSIS, DEFAULT_HEALTH, DEFAULT_VERIFY, DEFAULT_WEBHOOKS } from './defaults.ts';
import { validateConfig } from './schema.ts';

const SOURCE = '/etc/cutover/cutover.yaml';
const TOKEN = 'a-long-enough-admin-token';

function valid(raw: unknown): Config {
  const result = validateConfig(raw, { source: SOURCE });
  if (!result.ok) assert.fail(`expected a valid config, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.config;
}

function problems(raw: unknown): readonly ConfigProblem[] {
  const result = validateConfig(raw, { source: SOURCE });
  return result.ok ? [] : result.problems;
}

// What an app gets for the deployment keys it leaves out: no checks, no preview, no analysis, no hooks.
const DEPLOY_DEFAULTS = {
  verify: DEFAULT_VERIFY,
  preview: null,
  analysis: DEFAULT_ANALYSIS,
  standbyMs: 900_000,
  hooks: { commands: {}, timeoutMs: 60_000, cwd: '/etc/cutover' },
  webhooks: DEFAULT_WEBHOOKS,
};

const DEFAULT_WEB: AppConfig = {
  name: 'web',
  hosts: [],
  driver: { kind: 'static' },
  health: DEFAULT_HEALTH,
  switch: 'auto',
  drainMs: 30_000,
  drainJitterMs: 5_000,
  maxBodyBytes: 100 * 1024 * 1024,
  upstreamConnections: 128,
  ...DEPLOY_DEFAULTS,
};

test('an empty config gets every default', () => {
  for (const raw of [undefined, null, {}]) {
    assert.deepEqual(valid(raw), {
      listen: { host: '127.0.0.1', port: 8080 },
      admin: { listen: { host: '127.0.0.1', port: 9900 }, token: null, tokens: [] },
      state: { sqlite: '/etc/cutover/cutover.db' },
      timeouts: { upstreamConnectMs: 5_000, upstreamResponseMs: 60_000, requestHeadMs: 10_000, keepAliveMs: 60_000 },
      limits: { maxHeaderBytes: 16_384, maxConnections: 10_000 },
      apps: {},
      accessLog: null,
      tls: null,
      workers: availableParallelism(),
      source: SOURCE,
    });
  }
});

test('a full config is read with durations in ms', () => {
  const config = valid({
    listen: ':80',
    admin: { listen: '0.0.0.0:9900', token: TOKEN },
    state: { sqlite: '/var/lib/cutover.db' },
    timeouts: { upstreamConnect: '1s', upstreamResponse: '2m', requestHead: '5s', keepAlive: '30s' },
    limits: { maxHeaderSize: '32kb', maxConnections: 500 },
    apps: {
      web: {
        hosts: ['Web.Example.com', 'www.example.com'],
        driver: 'static',
        health: { path: '/up', interval: '500ms', timeout: '1.5s', healthy: 1, unhealthy: 5, deadline: '1m' },
        switch: 'manual',
        drain: 0,
        drainJitter: '2s',
        maxBodySize: '1mb',
        upstreamConnections: 32,
      },
    },
  });
  assert.deepEqual(config, {
    listen: { host: '', port: 80 },
    admin: { listen: { host: '0.0.0.0', port: 9900 }, token: TOKEN, tokens: [{ name: 'admin', token: TOKEN, role: 'admin' }] },
    state: { sqlite: '/var/lib/cutover.db' },
    timeouts: { upstreamConnectMs: 1_000, upstreamResponseMs: 120_000, requestHeadMs: 5_000, keepAliveMs: 30_000 },
    limits: { maxHeaderBytes: 32_768, maxConnections: 500 },
    apps: {
      web: {
        name: 'web',
        hosts: ['web.example.com', 'www.example.com'],
        driver: { kind: 'static' },
        health: { path: '/up', intervalMs: 500, timeoutMs: 1_500, healthy: 1, unhealthy: 5, deadlineMs: 60_000 },
        switch: 'manual',
        drainMs: 0,
        drainJitterMs: 2_000,
        maxBodyBytes: 1024 * 1024,
        upstreamConnections: 32,
        ...DEPLOY_DEFAULTS,
      },
    },
    accessLog: null,
    tls: null,
    workers: availableParallelism(),
    source: SOURCE,
  });
});

test('each short form reads as its long form', () => {
  const cases: { desc: string; app: unknown; want: AppConfig }[] = [
    { desc: 'an app with nothing set', app: null, want: DEFAULT_WEB },
    { desc: 'an empty app', app: {}, want: DEFAULT_WEB },
    { desc: 'driver: static', app: { driver: 'static' }, want: DEFAULT_WEB },
    { desc: 'driver: { static: {} }', app: { driver: { static: {} } }, want: DEFAULT_WEB },
    { desc: 'driver: { static: }', app: { driver: { static: null } }, want: DEFAULT_WEB },
    { desc: 'hosts: []', app: { hosts: [] }, want: DEFAULT_WEB },
    { desc: 'zero needs no unit', app: { drain: 0 }, want: { ...DEFAULT_WEB, drainMs: 0 } },
    { desc: 'part of health', app: { health: { path: '/up' } }, want: { ...DEFAULT_WEB, health: { ...DEFAULT_HEALTH, path: '/up' } } },
  ];
  for (const { desc, app, want } of cases) assert.deepEqual(valid({ apps: { web: app } }).apps.web, want, desc);
});

test('the sqlite path resolves against the config file', () => {
  const cases: { desc: string; sqlite: string; source: string | null; want: string }[] = [
    { desc: 'relative', sqlite: './data/c.db', source: SOURCE, want: '/etc/cutover/data/c.db' },
    { desc: 'relative, up a folder', sqlite: '../c.db', source: SOURCE, want: '/etc/c.db' },
    { desc: 'absolute', sqlite: '/var/c.db', source: SOURCE, want: '/var/c.db' },
    { desc: 'in memory', sqlite: ':memory:', source: SOURCE, want: ':memory:' },
    { desc: 'no file: the working directory', sqlite: 'c.db', source: null, want: `${process.cwd()}/c.db` },
  ];
  for (const { desc, sqlite, source, want } of cases) {
    const result = validateConfig({ state: { sqlite } }, { source });
    assert.ok(result.ok, desc);
    assert.deepEqual(result.config.state, { sqlite: want }, desc);
  }
});

test('a bad config lists every problem by its path', () => {
  const found = problems({
    listen: 8080,
    timeouts: { upstreamConnect: 'soon', upstreamResponse: '-1s' },
    apps: {
      Web: { switch: 'later' },
      api: {
        hosts: ['api.example.com:443', 'https://api.example.com/', 42],
        driver: 'statc',
        health: { path: 'healthz', interval: true, timeout: 0, healthy: 0, unhealthy: 1.5, deadline: 'never' },
        drain: '-5s',
      },
    },
  });
  assert.deepEqual(found, [
    { path: 'listen', message: 'must be a string like 127.0.0.1:8080, or :8080 for every interface' },
    { path: 'timeouts.upstreamConnect', message: 'must be a duration like 500ms, 2s or 1m, not "soon"' },
    { path: 'timeouts.upstreamResponse', message: 'must not be negative' },
    { path: 'apps.Web', message: 'is not a valid app name: use lower-case letters, digits and dashes, start with a letter or digit, at most 63 characters' },
    { path: 'apps.Web.switch', message: 'must be auto or manual' },
    { path: 'apps.api.hosts[0]', message: 'must not include a port; the Host header is matched without its port' },
    { path: 'apps.api.hosts[1]', message: 'must be a host name only, without a scheme or path' },
    { path: 'apps.api.hosts[2]', message: 'must be a host name, like web.example.com' },
    { path: 'apps.api.driver', message: 'unknown driver; did you mean `static`?' },
    { path: 'apps.api.health.path', message: 'must be a URL path starting with /, like /healthz' },
    { path: 'apps.api.health.interval', message: 'must be a duration like 500ms, 2s or 1m' },
    { path: 'apps.api.health.timeout', message: 'must be longer than 0' },
    { path: 'apps.api.health.healthy', message: 'must be a whole number of at least 1' },
    { path: 'apps.api.health.unhealthy', message: 'must be a whole number of at least 1' },
    { path: 'apps.api.health.deadline', message: 'must be a duration like 500ms, 2s or 1m, not "never"' },
    { path: 'apps.api.drain', message: 'must not be negative' },
  ]);
});

test('sections and values of the wrong type are problems', () => {
  const cases: { desc: string; raw: unknown; want: ConfigProblem[] }[] = [
    { desc: 'a list at the top', raw: ['listen'], want: [{ path: '', message: 'the config must be a mapping of keys like listen, admin and apps' }] },
    { desc: 'a scalar section', raw: { admin: 'yes' }, want: [{ path: 'admin', message: 'must be a mapping of keys to values' }] },
    { desc: 'apps as a list', raw: { apps: ['web'] }, want: [{ path: 'apps', message: 'must be a mapping of app names to their settings' }] },
    { desc: 'hosts as one string', raw: { apps: { web: { hosts: 'web.example.com' } } }, want: [{ path: 'apps.web.hosts', message: 'must be a list of host names, like [web.example.com]' }] },
    { desc: 'an empty driver', raw: { apps: { web: { driver: {} } } }, want: [{ path: 'apps.web.driver', message: 'must name a driver, like static' }] },
    { desc: 'settings for static', raw: { apps: { web: { driver: { static: { x: 1 } } } } }, want: [{ path: 'apps.web.driver.static.x', message: 'unknown key; this section takes no keys' }] },
    { desc: 'an empty sqlite path', raw: { state: { sqlite: '' } }, want: [{ path: 'state.sqlite', message: 'must be a file path, like ./cutover.db' }] },
    { desc: 'a token that is a number', raw: { admin: { token: 1234567890123456 } }, want: [{ path: 'admin.token', message: 'must be a string; put it in quotes' }] },
    { desc: 'a short token', raw: { admin: { token: 'secret' } }, want: [{ path: 'admin.token', message: 'must be at least 16 characters long' }] },
    { desc: 'admin on the proxy port', raw: { listen: ':8080', admin: { listen: '127.0.0.1:8080' } }, want: [{ path: 'admin.listen', message: 'is the same address as listen; give the admin API its own port' }] },
    {
      desc: 'a deadline no target can meet',
      raw: { apps: { web: { health: { interval: '10s', healthy: 4, deadline: '30s' } } } },
      want: [{ path: 'apps.web.health.deadline', message: 'must be longer than (healthy - 1) × interval = 30s, or no target can pass in time' }],
    },
  ];
  for (const { desc, raw, want } of cases) assert.deepEqual(problems(raw), want, desc);
});

test('an admin API beyond loopback needs a token', () => {
  const required = { path: 'admin.token', message: 'the admin API listens beyond loopback, so a token is required' };
  const cases: { desc: string; admin: unknown; want: ConfigProblem[] }[] = [
    { desc: 'the default address', admin: {}, want: [] },
    { desc: '127.0.0.1', admin: { listen: '127.0.0.1:9900' }, want: [] },
    { desc: 'elsewhere in 127/8', admin: { listen: '127.0.0.2:9900' }, want: [] },
    { desc: '[::1]', admin: { listen: '[::1]:9900' }, want: [] },
    { desc: 'localhost', admin: { listen: 'localhost:9900' }, want: [] },
    { desc: '0.0.0.0 without token', admin: { listen: '0.0.0.0:9900' }, want: [required] },
    { desc: 'every interface without token', admin: { listen: ':9900' }, want: [required] },
    { desc: '[::] without token', admin: { listen: '[::]:9900' }, want: [required] },
    { desc: 'a LAN address without token', admin: { listen: '10.1.2.3:9900' }, want: [required] },
    { desc: 'an empty token', admin: { listen: ':9900', token: '' }, want: [required] },
    { desc: 'an absent token (token: with no value)', admin: { listen: ':9900', token: null }, want: [required] },
    { desc: 'a token', admin: { listen: ':9900', token: TOKEN }, want: [] },
  ];
  for (const { desc, admin, want } of cases) assert.deepEqual(problems({ admin }), want, desc);
});

test('a host belongs to one app, and only one app goes without hosts', () => {
  const cases: { desc: string; apps: unknown; want: ConfigProblem[] }[] = [
    { desc: 'distinct hosts and one default app', apps: { a: { hosts: ['a.com'] }, b: { hosts: ['b.com'] }, c: {} }, want: [] },
    {
      desc: 'a host in two apps, in another case',
      apps: { a: { hosts: ['x.com'] }, b: { hosts: ['b.com', 'X.COM'] } },
      want: [{ path: 'apps.b.hosts[1]', message: '"x.com" is already a host of app "a"' }],
    },
    { desc: 'a host twice in one app', apps: { a: { hosts: ['x.com', 'x.com'] } }, want: [{ path: 'apps.a.hosts[1]', message: '"x.com" is listed twice' }] },
    {
      desc: 'two default apps',
      apps: { a: {}, b: { hosts: [] } },
      want: [{ path: 'apps.b.hosts', message: 'is missing, but app "a" already goes without hosts, and only one app (the default) may' }],
    },
  ];
  for (const { desc, apps, want } of cases) assert.deepEqual(problems({ apps }), want, desc);
});

test('an unknown key is a problem, with a guess when one is close', () => {
  const cases: { desc: string; raw: unknown; want: ConfigProblem }[] = [
    { desc: 'top level', raw: { listn: ':80' }, want: { path: 'listn', message: 'unknown key; did you mean `listen`?' } },
    { desc: 'in an app', raw: { apps: { web: { drian: '1s' } } }, want: { path: 'apps.web.drian', message: 'unknown key; did you mean `drain`?' } },
    { desc: 'in health', raw: { apps: { web: { health: { intervall: '1s' } } } }, want: { path: 'apps.web.health.intervall', message: 'unknown key; did you mean `interval`?' } },
    { desc: 'snake case', raw: { timeouts: { upstream_connect: '1s' } }, want: { path: 'timeouts.upstream_connect', message: 'unknown key; did you mean `upstreamConnect`?' } },
    { desc: 'nothing close', raw: { admin: { password: 'x' } }, want: { path: 'admin.password', message: 'unknown key; expected one of `listen`, `token`, `readToken`, `tokens`' } },
  ];
  for (const { desc, raw, want } of cases) assert.deepEqual(problems(raw), [want], desc);
});

test('keys the design names but this version does not build are problems, not silently ignored', () => {
  const app = (key: string, value: unknown = {}) => ({ apps: { web: { [key]: value } } });
  const cases: { desc: string; raw: unknown; path: string; key: string }[] = [
    { desc: 'driver.container', raw: app('driver', { container: {} }), path: 'apps.web.driver.container', key: 'container' },
    { desc: 'driver: container', raw: app('driver', 'container'), path: 'apps.web.driver', key: 'container' },
  ];
  for (const { desc, raw, path, key } of cases) {
    assert.deepEqual(problems(raw), [{ path, message: `\`${key}\` is not built yet in this version of cutover` }], desc);
  }
});

test('workers: "auto" or absent is one per core; a number is taken as it is; anything else is a problem', () => {
  assert.equal(valid({}).workers, availableParallelism());
  assert.equal(valid({ workers: 'auto' }).workers, availableParallelism());
  assert.equal(valid({ workers: 3 }).workers, 3);
  assert.equal(valid({ workers: 1 }).workers, 1);
  const message = 'must be "auto" (one per core) or a whole number from 1 to 64';
  for (const raw of [0, -1, 1.5, 65, 'many', true]) assert.deepEqual(problems({ workers: raw }), [{ path: 'workers', message }], String(raw));
});

test('the validated config is frozen all the way down', () => {
  const config = valid({ apps: { web: { hosts: ['web.example.com'] } } });
  const writes: { desc: string; write: () => void }[] = [
    { desc: 'the top', write: () => Object.assign(config, { source: 'x' }) },
    { desc: 'a section', write: () => ((config.listen as { port: number }).port = 1) },
    { desc: 'the apps', write: () => Object.assign(config.apps, { api: {} }) },
    { desc: 'an app', write: () => Object.assign(config.apps.web!.health, { healthy: 9 }) },
    { desc: 'a host list', write: () => (config.apps.web!.hosts as string[]).push('x.com') },
  ];
  for (const { desc, write } of writes) assert.throws(write, TypeError, desc);
});

test('a bare number as a duration is refused: `drain: 30` would otherwise mean 30 ms', () => {
  const result = validateConfig({ apps: { web: { drain: 30 } } });
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.problems, [{ path: 'apps.web.drain', message: 'has no unit; write 30s or 30ms' }]);
});

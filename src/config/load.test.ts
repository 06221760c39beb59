import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../core/errors.ts';
import { defaultConfig, loadConfig, parseConfigText } from './load.ts';

const TOKEN = 'a-long-enough-admin-token';

function problemsOf(text: string, env: Record<string, string> = {}): readonly ConfigProblem[] {
  try {
    parseConfigText(text, { source: '/srv/cutover.yaml', env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  return assert.fail('expected the config to be rejected');
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('loadConfig reads a file, substitutes the env and resolves paths against its folder', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'cutover.yaml');
  await writeFile(file, [
    'listen: ${LISTEN:-127.0.0.1:8080}',
    'admin: { listen: "0.0.0.0:9900", token: "${CUTOVER_TOKEN}" }',
    'state: { sqlite: ./state/cutover.db }',
    'apps:',
    '  web:',
    '    hosts: [${WEB_HOST}]',
  ].join('\n'));
  const config = await loadConfig(file, { CUTOVER_TOKEN: TOKEN, WEB_HOST: 'Web.Example.com' });
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
  assert.equal(config.admin.token, TOKEN);
  assert.deepEqual(config.state, { sqlite: join(dir, 'state/cutover.db') });
  assert.deepEqual(config.apps.web?.hosts, ['web.example.com']);
  assert.equal(config.source, file);
  assert.ok(Object.isFrozen(config.apps.web?.hosts));
});

test('a config file can put the state in etcd, with the password from the environment', () => {
  const config = parseConfigText([
    'state:',
    '  etcd:',
    '    endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379, http://10.0.0.3:2379]',
    '    username: cutover',
    '    password: ${ETCD_PASSWORD}',
  ].join('\n'), { source: '/srv/cutover.yaml', env: { ETCD_PASSWORD: 'from-the-env' } });
  assert.deepEqual(config.state, {
    etcd: {
      endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'],
      prefix: '/cutover',
      username: 'cutover',
      password: 'from-the-env',
      tls: null,
      timeoutMs: 2_000,
      leaseMs: 5_000,
    },
  });
});

test('loadConfig reads the example config', async () => {
  const path = new URL('../../examples/cutover.yaml', import.meta.url).pathname;
  const config = await loadConfig(path, {});
  assert.deepEqual(config.admin, { listen: { host: '127.0.0.1', port: 9900 }, token: null, tokens: [] });
  assert.deepEqual(config.state, { sqlite: join(path, '../.cutover/cutover.db') });
  assert.deepEqual(Object.keys(config.apps), ['web']);
  assert.deepEqual(config.apps.web?.hosts, []);
  assert.equal(config.apps.web?.health.intervalMs, 500);
  assert.equal(config.apps.web?.drainMs, 5_000);
  assert.equal(config.apps.web?.preview, null);
  assert.deepEqual(config.apps.web?.verify.checks, []);
});

// The example documents the keys that are off by default as commented-out YAML; uncommented, they must be valid,
// or the documentation has drifted from the validator. Prose comments never start with `key:`, `- ` or an indent.
test('the example config stays valid with its commented-out keys uncommented', async () => {
  const path = new URL('../../examples/cutover.yaml', import.meta.url).pathname;
  const text = await readFile(path, 'utf8');
  const uncommented = text.replace(/^([ \t]*)# ((?:[a-z][A-Za-z]*:(?: |$)|- | {2}).*)$/gm, '$1$2');
  assert.notEqual(uncommented, text);
  const config = parseConfigText(uncommented, { source: path, env: { PREVIEW_SECRET: 'an-example-preview-secret' } });
  const web = config.apps.web!;
  assert.deepEqual(
    { checks: web.verify.checks.length, preview: web.preview?.listen, bake: web.analysis.bakeMs, hooks: Object.keys(web.hooks.commands).length, webhooks: web.webhooks.urls },
    { checks: 2, preview: { host: '127.0.0.1', port: 8081 }, bake: 120_000, hooks: 5, webhooks: ['https://hooks.example.com/deploys'] },
  );
});

test('a file that cannot be read is a ConfigError naming it', async (t) => {
  const dir = await tempDir(t);
  const cases: { desc: string; path: string; reason: string }[] = [
    { desc: 'a missing file', path: join(dir, 'nope.yaml'), reason: 'no such file' },
    { desc: 'a directory', path: dir, reason: 'it is a directory' },
  ];
  for (const { desc, path, reason } of cases) {
    await assert.rejects(loadConfig(path, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError, desc);
      assert.deepEqual(err.problems, [{ path: '', message: `cannot read the config file ${path}: ${reason}` }], desc);
      return true;
    });
  }
});

test('every problem of a stage is reported at once', () => {
  const cases: { desc: string; text: string; env?: Record<string, string>; want: ConfigProblem[] }[] = [
    {
      desc: 'every unset variable, with its line',
      text: 'listen: ${LISTEN}\n# ${IN_A_COMMENT}\nadmin: { token: "${CUTOVER_TOKEN}" }\n',
      want: [
        { path: '', message: 'line 1: environment variable LISTEN is not set; set it, or give a default with ${LISTEN:-default}' },
        { path: '', message: 'line 3: environment variable CUTOVER_TOKEN is not set; set it, or give a default with ${CUTOVER_TOKEN:-default}' },
      ],
    },
    {
      desc: 'a key given twice',
      text: 'listen: :8080\nlisten: :8081\n',
      want: [{ path: '', message: 'YAML syntax error at line 2, column 1: Map keys must be unique' }],
    },
    {
      desc: 'an admin API opened up through the env without a token',
      text: 'admin:\n  listen: ${ADMIN_LISTEN}\n  token: ${CUTOVER_TOKEN:-}\n',
      env: { ADMIN_LISTEN: '0.0.0.0:9900' },
      want: [{ path: 'admin.token', message: 'the admin API listens beyond loopback, so a token is required' }],
    },
  ];
  for (const { desc, text, env, want } of cases) assert.deepEqual(problemsOf(text, env), want, desc);
});

test('YAML syntax errors name their line and column', () => {
  const found = problemsOf('listen: :8080\napps:\n  web: {hosts: [a.com}\n');
  assert.ok(found.length > 0);
  // The wording after the position is the yaml library's; only the position is ours to promise.
  for (const { path, message } of found) {
    assert.equal(path, '');
    assert.match(message, /^YAML syntax error at line 3, column 2\d: ./);
  }
});

test('problems are listed in the order of the file, whatever order validation found them in', () => {
  const text = [
    'apps:',
    '  web:',
    '    health: { interval: soon }',
    '    drian: 1s',
    '  api: {}',
    'listen: nowhere',
    'workers: two',
  ].join('\n');
  assert.deepEqual(problemsOf(text).map((p) => p.path), [
    'apps.web.health.interval',
    'apps.web.drian',
    'apps.api.hosts',
    'listen',
    'workers',
  ]);
});

test('the ConfigError message lists every problem by path', () => {
  assert.throws(
    () => parseConfigText('listen: nowhere\nworkers: 0\n', { env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.message, [
        'the config has 2 problem(s):',
        '  listen: "nowhere" has no port; write it as host:port, like 127.0.0.1:8080, or :8080 for every interface',
        '  workers: must be "auto" (one per core) or a whole number from 1 to 64',
      ].join('\n'));
      return true;
    },
  );
});

test('defaultConfig is every default, frozen', () => {
  const config = defaultConfig();
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(config.apps, {});
  assert.equal(config.source, null);
  assert.throws(() => ((config.admin as { token: string | null }).token = 'x'), TypeError);
});

test('an empty config file, or one of comments only, is refused naming it: a reload of it would remove every app', async (t) => {
  const dir = await tempDir(t);
  for (const text of ['', '\n  \n', '# nothing yet\n']) {
    const file = join(dir, 'cutover.yaml');
    await writeFile(file, text);
    const err = await loadConfig(file, {}).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, JSON.stringify(text));
    assert.match(err.problems[0]!.message, /cutover\.yaml is empty \(or only comments\): refused/);
  }
  assert.deepEqual(Object.keys(defaultConfig().apps), [], 'text from code may still be empty: every default');
});

test('a config file that names no app is refused: one cut short after its first lines reads like that', async (t) => {
  const dir = await tempDir(t);
  const top = 'listen: 127.0.0.1:8080\nadmin: { listen: 127.0.0.1:9900 }\n';
  for (const text of [top, `${top}apps:\n`, `${top}apps: {}\n`, `${top}apps:\n#  web:\n#    drain: 5s\n`]) {
    const file = join(dir, 'cutover.yaml');
    await writeFile(file, text);
    const err = await loadConfig(file, {}).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, JSON.stringify(text));
    assert.equal(err.problems[0]!.path, 'apps');
    assert.match(err.problems[0]!.message, /cutover\.yaml names no app: refused/);
  }
});

// `cutover serve` with its state in etcd: no state file and no file lock, so a second instance can start beside the
// first and serves what the first deployed; a lost etcd at start is one clear line, not a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { callApi, deploy, runCli, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { startEtcd } from './support/etcd.ts';
import { deadUrl, startUpstream } from './support/upstream.ts';

function etcdConfig(endpoint: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: { etcd: { endpoints: [${endpoint}], prefix: /cutover-e2e, timeout: 1s } }
apps:
${WEB_APP}
`;
}

test('two cutover instances share one etcd: the second serves what the first deployed', async (t) => {
  const etcd = await startEtcd(t);
  const config = join(tempDir(t), 'cutover.yaml');
  writeFileSync(config, etcdConfig(etcd.endpoint));
  const first = await spawnServe(t, config);
  const v1 = await startUpstream(t, 'v1');
  assert.equal((await deploy(first, 'v1', [v1.url])).phase, 'done');

  const second = await spawnServe(t, config);
  const res = await request(second.proxyUrl);
  assert.equal(await res.body.text(), 'v1', 'the second instance restored the live environment from etcd');
  const audit = await callApi<{ action: string; outcome: string }[]>(second.adminUrl, 'GET', '/api/audit');
  assert.deepEqual(audit.body.map((e) => [e.action, e.outcome]), [['deploy', 'ok']], 'the audit trail is shared too');
});

test('serve against an etcd that is not there fails at start with STORE_UNAVAILABLE naming it', async (t) => {
  const endpoint = await deadUrl();
  const config = join(tempDir(t), 'cutover.yaml');
  writeFileSync(config, etcdConfig(endpoint));
  const started = Date.now();
  const result = await runCli(['serve', '-c', config]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`^cutover: cannot reach the etcd store at ${endpoint}: .*ECONNREFUSED.* \\[STORE_UNAVAILABLE\\]\n$`));
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

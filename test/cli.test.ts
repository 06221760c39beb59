// The CLI against a real `cutover serve`: deploys that fail or wait, manual switch and rollback, history, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { BIN, configText, processApp, runCli, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { deadUrl, startUpstream } from './support/upstream.ts';

async function serveWeb(t: Parameters<typeof tempDir>[0], apps = WEB_APP) {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, apps));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  const cli = (...args: string[]) => runCli(['--admin', serve.adminUrl, ...args]);
  return { serve, cli };
}

async function body(url: string): Promise<string> {
  return (await request(url)).body.text();
}

test('a deploy whose targets never get healthy exits non-zero naming the cause; live still answers', async (t) => {
  const { serve, cli } = await serveWeb(t);
  const v1 = await startUpstream(t, 'v1');
  assert.equal((await cli('deploy', 'web', '--version', 'v1', '--target', v1.url)).code, 0);
  const sick = await startUpstream(t, 'v2');
  sick.healthy = false;
  const dead = await deadUrl();

  const result = await cli('deploy', 'web', '--version', 'v2', '--target', sick.url, '--target', dead);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /not healthy within 3s/);
  assert.match(result.stderr, new RegExp(`${sick.url} \\(GET /healthz answered 503\\)`));
  assert.match(result.stderr, new RegExp(`${dead} \\(GET /healthz failed: connection refused\\)`));
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.match(result.stdout, /health-gate/);
  assert.equal(await body(serve.proxyUrl), 'v1');

  const history = await cli('history', 'web', '--json');
  const [latest] = JSON.parse(history.stdout) as { version: string; phase: string }[];
  assert.deepEqual([latest!.version, latest!.phase], ['v2', 'failed']);
});

test('--no-switch leaves the candidate ready; switch and rollback alternate; history records them', async (t) => {
  const { serve, cli } = await serveWeb(t);
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await cli('deploy', 'web', '--version', 'v1', '--target', v1.url);

  const ready = await cli('deploy', 'web', '--version', 'v2', '--target', v2.url, '--no-switch');
  assert.equal(ready.code, 0, ready.stderr);
  assert.match(ready.stdout, /v2 is ready on green/);
  assert.equal(await body(serve.proxyUrl), 'v1');
  const status = JSON.parse((await cli('status', 'web', '--json')).stdout);
  assert.equal(status.envs.green.role, 'candidate');

  for (const [verb, expected] of [['switch', 'v2'], ['rollback', 'v1'], ['switch', 'v2'], ['rollback', 'v1']] as const) {
    const r = await cli(verb, 'web');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await body(serve.proxyUrl), expected);
  }
  const table = await cli('status');
  assert.match(table.stdout, /blue\s+live\s+live\s+v1/);
  assert.match(table.stdout, /green\s+candidate\s+ready\s+v2/);
  const history = (await cli('history', 'web')).stdout;
  assert.match(history, /v2\s+green\s+rolled-back/);
  assert.match(history, /v1\s+blue\s+done/);
  const audit = (await cli('audit', 'web')).stdout;
  assert.equal(audit.match(/local \(cli:\S+\)\s+rollback\s+web\s+ok/g)?.length, 2, audit);
  assert.equal(audit.match(/local \(cli:\S+\)\s+switch\s+web\s+ok/g)?.length, 2, audit);
});

test('switch refuses an unhealthy candidate unless --force', async (t) => {
  const { serve, cli } = await serveWeb(t);
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  await cli('deploy', 'web', '--version', 'v1', '--target', v1.url);
  await cli('deploy', 'web', '--version', 'v2', '--target', v2.url, '--no-switch');
  v2.healthy = false;
  await new Promise((r) => setTimeout(r, 300));
  const refused = await cli('switch', 'web');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refusing to switch to green: .* not healthy \(use --force to override\) \[NOT_HEALTHY\]/);
  assert.equal(await body(serve.proxyUrl), 'v1');
  assert.equal((await cli('switch', 'web', '--force')).code, 0);
  assert.equal(await body(serve.proxyUrl), 'v2');
});

test('mistakes get one clear line and a non-zero exit', async (t) => {
  const { cli } = await serveWeb(t);
  const cases = [
    { desc: 'unknown app', args: ['status', 'nope'], error: /no app named "nope" \[NOT_FOUND\]/ },
    { desc: 'no target', args: ['deploy', 'web', '--version', 'v1'], error: /needs at least one target URL in --target \[BAD_REQUEST\]/ },
    { desc: 'bad target', args: ['deploy', 'web', '--version', 'v1', '--target', 'ftp://x'], error: /is not an http:\/\/ origin/ },
    { desc: 'nothing to roll back', args: ['rollback', 'web'], error: /nothing is live/ },
    { desc: 'nothing to switch to', args: ['switch', 'web'], error: /no candidate environment ready to switch to \[NO_CANDIDATE\]/ },
    { desc: 'a limit that is not a number', args: ['history', 'web', '-n', 'abc'], error: /'-n, --limit <n>' argument 'abc' is invalid\. must be a whole number ≥ 1/ },
    { desc: 'a limit of 0', args: ['audit', '-n', '0'], error: /must be a whole number ≥ 1/ },
  ];
  for (const c of cases) {
    const r = await cli(...c.args);
    assert.equal(r.code, 1, c.desc);
    assert.match(r.stderr, c.error, c.desc);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${c.desc}: one line`);
  }
});

test('deploy --target to an app whose driver starts its own targets names the flag the user typed', async (t) => {
  const { cli } = await serveWeb(t, processApp());
  const r = await cli('deploy', 'web', '--version', 'v1', '--target', 'http://127.0.0.1:3001');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `cutover: this app's process driver starts its own targets; --target is only for static apps [BAD_REQUEST]\n`);
});

test("commander's own mistakes are one `cutover:` line with a hint; --help and --version are not mistakes", async () => {
  const cases = [
    { desc: 'unknown command', args: ['stauts'], error: /^cutover: unknown command 'stauts' \(Did you mean status\?\) \(see `cutover --help`\)$/ },
    { desc: 'unknown option', args: ['--bogus'], error: /^cutover: unknown option '--bogus' \(see `cutover --help`\)$/ },
    { desc: 'unknown option of a verb', args: ['status', '--bogus'], error: /^cutover: unknown option '--bogus' \(see `cutover status --help`\)$/ },
    { desc: 'missing argument', args: ['history'], error: /^cutover: missing required argument 'app' \(see `cutover history --help`\)$/ },
    { desc: 'missing app and option: the app first', args: ['deploy'], error: /^cutover: missing required argument 'app' \(see `cutover deploy --help`\)$/ },
    { desc: 'missing required option', args: ['deploy', 'web'], error: /^cutover: required option '--version <version>' not specified \(see `cutover deploy --help`\)$/ },
    { desc: 'a value its parser refuses', args: ['history', 'web', '-n', 'abc'], error: /^cutover: option '-n, --limit <n>' argument 'abc' is invalid\. must be a whole number ≥ 1 \(see `cutover history --help`\)$/ },
    { desc: 'a value not among the choices', args: ['logs', 'web', '--env', 'purple'], error: /^cutover: option '--env <color>' argument 'purple' is invalid\. Allowed choices are blue, green\. \(see `cutover logs --help`\)$/ },
  ];
  for (const c of cases) {
    const r = await runCli(c.args);
    assert.equal(r.code, 1, c.desc);
    assert.equal(r.stdout, '', c.desc);
    assert.match(r.stderr.trimEnd(), c.error, `${c.desc}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${c.desc}: one line`);
  }
  for (const args of [['--help'], ['deploy', '--help'], ['help', 'logs'], ['--version']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.stdout, args[0] === '--version' ? /^\d+\.\d+\.\d+\n$/ : /^Usage: cutover /, args.join(' '));
  }
});

test('an unreachable admin API is one line naming the URL', async () => {
  const url = await deadUrl();
  const r = await runCli(['--admin', url, 'status']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot reach the admin API at ${url}: connection refused`));
});

// Only `cutover serve` holds signals while it loads (bin/cutover.js); a verb given an app named "serve" is not serve.
test('Ctrl-C ends a CLI call waiting on the admin API at once, also for an app named "serve"', async (t) => {
  const silent = createServer(() => {}); // accepts and never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => silent.close(resolve)));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const waiting = new Promise((resolve) => silent.once('request', resolve));
  const child = spawn(process.execPath, [BIN, '--admin', url, 'deploy', 'serve', '--version', 'v1'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const exit = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  await waiting;
  child.kill('SIGINT');
  assert.deepEqual(await exit, [null, 'SIGINT']);
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VerifyCheck } from '../config/config.ts';
import { deadUrl } from '../../test/support/upstream.ts';
import { firstFailure, MAX_OUTPUT_BYTES, runChecks, runCommand } from './verify.ts';

const VARS = { version: 'v2', env: 'green' };

const ROUTES: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.end('hello from v2\n'),
  '/fail': (_req, res) => res.writeHead(500).end('boom'),
  '/created': (_req, res) => res.writeHead(201).end(),
  '/moved': (_req, res) => res.writeHead(301, { location: '/ok' }).end(),
  '/json': (_req, res) => res.end(JSON.stringify({ version: 'v1', env: 'green', build: { items: [{ id: 7 }], ok: true }, none: null })),
  '/slow': (_req, res) => void setTimeout(() => res.end('late'), 150),
  '/hang': () => {},
  '/big': (_req, res) => {
    res.write('a'.repeat(2 * 1024 * 1024));
    res.end('v2');
  },
  '/headers': (req, res) => res.end(JSON.stringify(req.headers)),
  '/method': (req, res) => res.end(req.method),
};

async function startTarget(t: TestContext): Promise<string> {
  const server = createServer((req, res) => (ROUTES[new URL(req.url!, 'http://x').pathname] ?? ROUTES['/fail']!)(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function check(fields: Partial<VerifyCheck> & { path: string }): VerifyCheck {
  return {
    name: `GET ${fields.path}`, method: 'GET', headers: {}, status: null, bodyContains: null, json: null,
    maxLatencyMs: null, timeoutMs: 2_000, ...fields,
  };
}

test('each check compares what it is told to, and says what it got', async (t) => {
  const baseUrl = await startTarget(t);
  const cases: { desc: string; check: VerifyCheck; ok: boolean; got: string | RegExp }[] = [
    { desc: 'any 2xx', check: check({ path: '/created' }), ok: true, got: 'answered 201' },
    { desc: 'a 5xx', check: check({ path: '/fail' }), ok: false, got: 'answered 500' },
    { desc: 'a redirect is not followed, nor a 2xx', check: check({ path: '/moved' }), ok: false, got: 'answered 301' },
    { desc: 'an exact status', check: check({ path: '/moved', status: 301 }), ok: true, got: 'answered 301' },
    { desc: 'a wrong exact status', check: check({ path: '/ok', status: 204 }), ok: false, got: 'answered 200, expected 204' },
    { desc: 'the body, templated', check: check({ path: '/ok', bodyContains: 'from {{version}}' }), ok: true, got: 'answered 200' },
    { desc: 'a body without it', check: check({ path: '/ok', bodyContains: '{{env}}' }), ok: false, got: 'body did not contain "green"' },
    { desc: 'the status before the body', check: check({ path: '/fail', bodyContains: 'v2' }), ok: false, got: 'answered 500' },
    { desc: 'past 1 MiB the body is cut', check: check({ path: '/big', bodyContains: 'v2' }), ok: false, got: 'the first 1 MiB of the body did not contain "v2"' },
    { desc: 'json values that match', check: check({ path: '/json', json: { env: '{{env}}', 'build.items.0.id': 7, 'build.ok': true, none: null } }), ok: true, got: 'answered 200' },
    { desc: 'a json value that differs', check: check({ path: '/json', json: { version: '{{version}}' } }), ok: false, got: 'version was "v1", expected "v2"' },
    { desc: 'a number is not its text', check: check({ path: '/json', json: { 'build.items.0.id': '7' } }), ok: false, got: 'build.items.0.id was 7, expected "7"' },
    { desc: 'a missing json path', check: check({ path: '/json', json: { 'build.commit': 'abc' } }), ok: false, got: 'build.commit is missing, expected "abc"' },
    { desc: 'inherited properties are not found', check: check({ path: '/json', json: { 'build.constructor': 'x' } }), ok: false, got: 'build.constructor is missing, expected "x"' },
    { desc: 'an object where a value was wanted', check: check({ path: '/json', json: { build: 1 } }), ok: false, got: 'build was {"items":[{"id":7}],"ok":true}, expected 1' },
    { desc: 'a body that is not JSON', check: check({ path: '/ok', json: { version: 'v2' } }), ok: false, got: 'body is not JSON' },
    { desc: 'within the latency', check: check({ path: '/ok', maxLatencyMs: 1_000 }), ok: true, got: 'answered 200' },
    { desc: 'over the latency', check: check({ path: '/slow', maxLatencyMs: 50 }), ok: false, got: /^took 1\d\dms, over 50ms$/ },
    { desc: 'a timeout', check: check({ path: '/hang', timeoutMs: 100 }), ok: false, got: 'failed: timed out after 100ms' },
    { desc: 'another method', check: check({ path: '/method', method: 'POST', bodyContains: 'POST' }), ok: true, got: 'answered 200' },
  ];
  const results = await runChecks(cases.map((c) => c.check), { baseUrl, vars: VARS });
  cases.forEach(({ desc, check, ok, got }, i) => {
    const result = results[i]!;
    assert.equal(result.check, check.name, desc);
    assert.equal(result.ok, ok, `${desc}: ${result.got}`);
    if (typeof got === 'string') assert.equal(result.got, got, desc);
    else assert.match(result.got, got, desc);
    assert.ok(Number.isInteger(result.ms) && result.ms >= 0, desc);
  });
});

test('a target that refuses connections fails every check with the reason', async () => {
  const baseUrl = await deadUrl();
  const results = await runChecks([check({ path: '/ok' }), check({ path: '/json' })], { baseUrl, vars: VARS });
  assert.deepEqual(results.map((r) => [r.ok, r.got]), [[false, 'failed: connection refused'], [false, 'failed: connection refused']]);
  assert.equal(firstFailure(results), results[0]);
});

test('headers: the check sets its own, the caller adds and overrides, in any case', async (t) => {
  const baseUrl = await startTarget(t);
  const probe = check({ path: '/headers', headers: { 'X-Check': 'a', 'X-Both': 'check', 'User-Agent': 'mine' }, json: { 'x-check': 'a', 'x-both': 'caller', 'x-cutover-preview': 's3cret', 'user-agent': 'mine' } });
  const [result] = await runChecks([probe], { baseUrl, vars: VARS, headers: { 'x-both': 'caller', 'x-cutover-preview': 's3cret' } });
  assert.equal(result!.got, 'answered 200');
  const [plain] = await runChecks([check({ path: '/headers', json: { 'user-agent': 'cutover-verify' } })], { baseUrl, vars: VARS });
  assert.equal(plain!.got, 'answered 200');
});

test('the base URL is an origin: a path on it is not kept, and a check cannot leave it', async (t) => {
  const baseUrl = await startTarget(t);
  const [result] = await runChecks([check({ path: '/ok' })], { baseUrl: `${baseUrl}/prefix/`, vars: VARS });
  assert.equal(result!.got, 'answered 200');
});

test('firstFailure is null when every check passed, and for no checks', async (t) => {
  const baseUrl = await startTarget(t);
  assert.equal(firstFailure(await runChecks([check({ path: '/ok' })], { baseUrl, vars: VARS })), null);
  assert.deepEqual(await runChecks([], { baseUrl, vars: VARS }), []);
  assert.equal(firstFailure([]), null);
});

test('an aborted run fails the checks left as cancelled', async (t) => {
  const baseUrl = await startTarget(t);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const results = await runChecks([check({ path: '/hang' }), check({ path: '/ok' })], { baseUrl, vars: VARS, signal: controller.signal });
  assert.deepEqual(results.map((r) => r.got), ['failed: cancelled', 'failed: cancelled']);
  const removed = new AbortController();
  setTimeout(() => removed.abort(new Error('the app was removed from the config by a reload')), 50);
  const [first] = await runChecks([check({ path: '/hang' })], { baseUrl, vars: VARS, signal: removed.signal });
  assert.equal(first!.got, 'failed: cancelled (the app was removed from the config by a reload)');
});

function tempDir(t: TestContext): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cutover-verify-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('runCommand reports the exit, the output and the time', async (t) => {
  const cwd = tempDir(t);
  const cases: { desc: string; command: string; ok: boolean; exitCode: number | null; output: string }[] = [
    { desc: 'success', command: 'echo hello', ok: true, exitCode: 0, output: 'hello\n' },
    { desc: 'an exit status', command: 'echo no >&2; exit 3', ok: false, exitCode: 3, output: 'no\n' },
    { desc: 'stdout and stderr in order', command: 'echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c', ok: true, exitCode: 0, output: 'a\nb\nc\n' },
    { desc: 'the env is added to cutover\'s own', command: 'echo "$CUTOVER_VERSION $HOME"', ok: true, exitCode: 0, output: `v2 ${process.env.HOME}\n` },
    { desc: 'the working directory', command: 'pwd', ok: true, exitCode: 0, output: `${cwd}\n` },
    { desc: 'a missing program', command: 'no-such-program-here', ok: false, exitCode: 127, output: '' },
  ];
  for (const { desc, command, ok, exitCode, output } of cases) {
    const result = await runCommand(command, { cwd, env: { CUTOVER_VERSION: 'v2' }, timeoutMs: 5_000 });
    assert.equal(result.ok, ok, desc);
    assert.equal(result.exitCode, exitCode, desc);
    assert.equal(result.signal, null, desc);
    assert.equal(result.timedOut, false, desc);
    if (exitCode !== 127) assert.equal(result.output, output, desc);
    else assert.match(result.output, /not found/, desc);
  }
});

test('runCommand kills the whole process group on timeout', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'child.pid');
  const result = await runCommand(`sleep 30 & echo $! > ${pidFile}; echo started; wait`, { cwd: dir, timeoutMs: 200 });
  assert.equal(result.ok, false);
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGTERM');
  assert.equal(result.output, 'started\n');
  assert.ok(result.ms >= 200 && result.ms < 2_000, `took ${result.ms}ms`);
  const child = Number(readFileSync(pidFile, 'utf8'));
  await waitGone(child);
});

test('runCommand follows SIGTERM with SIGKILL for a command that ignores it', async (t) => {
  const result = await runCommand("trap '' TERM; sleep 30", { cwd: tempDir(t), timeoutMs: 100 });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(result.ms >= 2_000, `took ${result.ms}ms`);
});

test('runCommand returns when the shell exits, even if a background child keeps the output open', async (t) => {
  const result = await runCommand('sleep 5 & echo $!', { cwd: tempDir(t), timeoutMs: 5_000 });
  const child = Number(result.output.trim());
  t.after(() => process.kill(child));
  assert.equal(result.ok, true);
  assert.ok(result.ms < 1_000, `took ${result.ms}ms`);
});

test('runCommand keeps only the last 64 KiB of output', async (t) => {
  const result = await runCommand("head -c 200000 /dev/zero | tr '\\0' a; echo; echo END", { cwd: tempDir(t), timeoutMs: 5_000 });
  assert.equal(result.ok, true);
  assert.match(result.output, /^\[\d+ earlier bytes cut\]\na+\nEND\n$/);
  assert.equal(result.output.split('\n')[1]!.length + 'END\n'.length + 1, MAX_OUTPUT_BYTES);
});

test('runCommand says why a command could not start', async (t) => {
  const cwd = join(tempDir(t), 'missing');
  const result = await runCommand('true', { cwd, timeoutMs: 1_000 });
  assert.deepEqual({ ...result, ms: 0 }, {
    ok: false, exitCode: null, signal: null, output: `could not start: no such directory ${cwd}`, ms: 0, timedOut: false,
  });
});

test('runCommand stops a command on abort without calling it a timeout', async (t) => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const result = await runCommand('sleep 30', { cwd: tempDir(t), timeoutMs: 10_000, signal: controller.signal });
  assert.deepEqual([result.ok, result.timedOut, result.signal], [false, false, 'SIGTERM']);
  const before = await runCommand('echo never', { cwd: tempDir(t), timeoutMs: 1_000, signal: AbortSignal.abort() });
  assert.deepEqual([before.ok, before.output], [false, 'not started: cancelled']);
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (!isRunning(pid)) return;
    await sleep(20);
  }
  process.kill(pid, 'SIGKILL');
  assert.fail(`process ${pid} outlived the timeout`);
}

// A killed child whose shell died first is reparented to PID 1, which in some containers reaps late: until then it
// is a zombie, dead but still answering kill(pid, 0).
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync('/proc/self/stat')) return true; // not Linux: no way to tell a zombie
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

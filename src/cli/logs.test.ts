import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serveLogs } from '../admin/logs-route.ts';
import { toCutoverError } from '../core/errors.ts';
import type { EnvironmentDriver } from '../drivers/environment-driver.ts';
import { eventually, processDriver, signal, startRequest } from '../drivers/fixtures/process-fixture.ts';
import { StaticDriver } from '../drivers/static-driver.ts';

const LOGS_TS = fileURLToPath(new URL('./logs.ts', import.meta.url));

test('cutover logs prints the recent lines of an environment', { timeout: 30_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'echo one; echo two; echo three; exec sleep 30' });
  await driver.start(startRequest('blue', 'v1'), signal());
  await eventually('three lines', () => driver.logs('web', 'blue').length === 3);
  const admin = await adminWithLogs(t, driver);
  const run = await cli(['--admin', admin, 'logs', 'web', '--env', 'blue', '-n', '2']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trimEnd().split('\n').map((l) => l.slice(9)), ['blue#0 stdout| two', 'blue#0 stdout| three']);
});

test('cutover logs --follow keeps printing new lines', { timeout: 30_000 }, async (t) => {
  const { driver } = processDriver(t, { command: 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.05; done' });
  await driver.start(startRequest('green', 'v1'), signal());
  const admin = await adminWithLogs(t, driver);
  const run = await cli(['--admin', admin, 'logs', 'web', '--follow', '-n', '0'], (out) => out.split('\n').length > 5);
  assert.match(run.stdout.split('\n')[4]!, /^\d\d:\d\d:\d\d green#0 stdout\| tick \d+$/);
});

test('cutover logs refuses a bad --env, and says why a static app has no output', { timeout: 30_000 }, async (t) => {
  const bad = await cli(['logs', 'web', '--env', 'purple']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Allowed choices are blue, green/);
  const admin = await adminWithLogs(t, new StaticDriver());
  const run = await cli(['--admin', admin, 'logs', 'web']);
  assert.equal(run.code, 0);
  assert.match(run.stderr, /web uses the static driver/);
});

test('cutover logs says when it cannot reach the admin API', { timeout: 30_000 }, async () => {
  const run = await cli(['--admin', 'http://127.0.0.1:1', 'logs', 'web']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:1: connection refused/);
});

async function adminWithLogs(t: TestContext, driver: EnvironmentDriver): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://admin');
    serveLogs(req, res, url, driver, 'web').catch((err) => {
      const error = toCutoverError(err);
      res.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.toJSON() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Runs the logs verb in a process of its own, under a bare program with the global --admin flag (src/cli/main.ts
 * wires it into the real one). With `until`, the process is stopped once its stdout satisfies it.
 */
function cli(args: string[], until?: (stdout: string) => boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    import { Command, CommanderError } from 'commander';
    const program = new Command('cutover').option('--admin <url>').exitOverride();
    program.addCommand((await import(${JSON.stringify(LOGS_TS)})).logsCommand());
    try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); }
    catch (err) { if (!(err instanceof CommanderError)) console.error('cutover: ' + err.message); process.exitCode = 1; }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...withoutAdmin(process.env), NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (until?.(stdout)) child.kill();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function withoutAdmin(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CUTOVER_ADMIN: _admin, CUTOVER_TOKEN: _token, ...rest } = env;
  return rest;
}

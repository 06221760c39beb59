import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ProcessDriverConfig } from '../config/config.ts';
import type { HostInput, HostOutput } from './fixtures/driver-host.ts';
import { DEMO_APP, FIXTURES, answers, eventually, killAtEnd, processConfig, processDriver, startRequest, tempDir, texts } from './fixtures/process-fixture.ts';
import { isRunning } from './process-group.ts';

// Each test runs a first "cutover" (a driver in a child process), kills it with SIGKILL, and lets a new driver on
// the same stateDir take over, as `cutover serve` does after a crash or a restart.

test('restore adopts the instances that still run; reapOrphans kills the ones nobody claimed', { timeout: 30_000 }, async (t) => {
  const { stateDir, config, first } = await firstRun(t, { instances: 2 }, [{ color: 'blue', version: 'v1' }, { color: 'green', version: 'v2' }]);
  const { driver, events } = processDriver(t, config, { stateDir });
  const urls = await driver.restore(startRequest('blue', 'v1'));
  assert.deepEqual(urls, first.blue!.urls);
  assert.deepEqual(driver.describe('web', 'blue').map((d) => [d.state, d.pid]), first.blue!.pids.map((pid) => ['running', pid]));
  for (const url of urls) assert.ok(await answers(url));
  assert.ok(texts(driver.logs('web', 'blue')).some((l) => l.startsWith('v1 blue#0 listening on')), 'output of the first run is shown');

  assert.equal(await driver.reapOrphans(), 2);
  assert.deepEqual(first.green!.pids.filter(isRunning), []);
  for (const url of first.green!.urls) assert.equal(await answers(url), false);
  assert.deepEqual(recorded(stateDir), first.blue!.pids);
  assert.equal(await driver.reapOrphans(), 0);
  assert.deepEqual(events, []);
});

test('an adopted instance that exits is restarted on its port, and its output is captured again', { timeout: 30_000 }, async (t) => {
  const { stateDir, config, first } = await firstRun(t, {}, [{ color: 'green', version: 'v1' }]);
  const { driver, events } = processDriver(t, config, { stateDir, restart: { initialDelayMs: 10 } });
  const [url] = await driver.restore(startRequest('green', 'v1'));
  process.kill(first.green!.pids[0]!, 'SIGKILL');
  await eventually('the restart', () => events.some((e) => e.kind === 'restarted'), 5_000);
  assert.deepEqual(events.map((e) => e.kind), ['exited', 'restarted']);
  assert.match(events[0]!.detail, /adopted process \d+ is gone/);
  await eventually('the new process to answer', () => answers(url!));
  await eventually('its output', () => texts(driver.logs('web', 'green')).filter((l) => l.includes('listening on')).length === 2);
  assert.notEqual(driver.describe('web', 'green')[0]!.pid, first.green!.pids[0]);
});

test('output an adopted instance wrote before the restart is marked so, not given the time of the restart', { timeout: 30_000 }, async (t) => {
  const go = join(tempDir(t), 'go');
  const command = `echo "from the first run"; (while [ ! -e ${go} ]; do sleep 0.05; done; echo "after the restart") & exec node ${DEMO_APP}`;
  const { stateDir, config } = await firstRun(t, { command }, [{ color: 'blue', version: 'v1' }]);
  const { driver } = processDriver(t, config, { stateDir });
  const adopting = Date.now();
  await driver.restore(startRequest('blue', 'v1'));
  writeFileSync(go, '');
  await eventually('the line written after the restart', () => texts(driver.logs('web', 'blue')).includes('after the restart'));
  const line = (text: string) => driver.logs('web', 'blue').find((l) => l.text === text)!;
  assert.equal(line('from the first run').written, 'before', 'its time is not known: it was written before the adoption');
  assert.ok(line('from the first run').at >= adopting, '`at` is the adoption, which it came before');
  assert.equal(line('after the restart').written, 'at');
});

test('an instance that died with the previous run is started again, on its old port while that is free', { timeout: 30_000 }, async (t) => {
  const { stateDir, config, first } = await firstRun(t, {}, [{ color: 'blue', version: 'v1' }]);
  process.kill(-first.blue!.pids[0]!, 'SIGKILL');
  await eventually('the instance to die', () => !isRunning(first.blue!.pids[0]!));
  const { driver } = processDriver(t, config, { stateDir });
  const restored = await driver.restore(startRequest('blue', 'v1'));
  // Other tests running at the same time may have been given that port meanwhile; then a new one is right too.
  if (restored[0] !== first.blue!.urls[0]) t.diagnostic(`the old port was taken; restarted on ${restored[0]}`);
  assert.equal(restored.length, 1);
  await eventually('the new instance to answer', () => answers(restored[0]!));
  assert.equal(await driver.reapOrphans(), 0);
});

test('instances of another version on the same environment are not adopted, and are reaped', { timeout: 30_000 }, async (t) => {
  const { stateDir, config, first } = await firstRun(t, {}, [{ color: 'blue', version: 'v1' }]);
  const { driver } = processDriver(t, config, { stateDir });
  const [url] = await driver.restore(startRequest('blue', 'v2'));
  assert.notEqual(url, first.blue!.urls[0]);
  await eventually('v2 to answer', () => answers(url!));
  assert.ok(isRunning(first.blue!.pids[0]!));
  assert.equal(await driver.reapOrphans(), 1);
  assert.equal(isRunning(first.blue!.pids[0]!), false);
});

test('an unreadable record file is reported and treated as empty', { timeout: 10_000 }, async (t) => {
  const stateDir = tempDir(t);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(stateDir, 'web'));
  writeFileSync(join(stateDir, 'web', 'processes.json'), '{ not json');
  const errors: string[] = [];
  const log = { ...(await import('../core/logger.ts')).silentLogger, error: (obj: object | string, msg?: string) => errors.push(String(msg ?? obj)) };
  const { driver } = processDriver(t, {}, { stateDir, log: { ...log, child: () => log } });
  assert.equal(await driver.reapOrphans(), 0);
  assert.match(errors.join('\n'), /cannot read the process records/);
});

interface FirstRun {
  readonly stateDir: string;
  readonly config: Partial<ProcessDriverConfig>;
  readonly first: HostOutput;
}

/** Starts environments in a driver of a child process, then kills that process with SIGKILL. */
async function firstRun(t: TestContext, overrides: Partial<ProcessDriverConfig>, starts: HostInput['starts']): Promise<FirstRun> {
  const baseDir = tempDir(t);
  const stateDir = join(baseDir, 'state');
  const input: HostInput = { stateDir, config: processConfig(baseDir, overrides), starts };
  const host = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, 'driver-host.ts'), JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let first: HostOutput = {};
  killAtEnd(t, () => Object.values(first).flatMap((env) => env.pids));
  t.after(() => host.kill('SIGKILL'));
  const [line] = (await once(createInterface({ input: host.stdout }), 'line', { signal: AbortSignal.timeout(15_000) })) as [string];
  first = JSON.parse(line) as HostOutput;
  for (const env of Object.values(first)) for (const url of env.urls) await eventually(`${url} to answer`, () => answers(url));
  host.kill('SIGKILL');
  await new Promise((resolve) => host.once('exit', resolve));
  return { stateDir, config: overrides, first };
}

function recorded(stateDir: string): number[] {
  const file = JSON.parse(readFileSync(join(stateDir, 'web', 'processes.json'), 'utf8')) as { instances: { pid: number }[] };
  return file.instances.map((r) => r.pid);
}

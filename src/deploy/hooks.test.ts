import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookName, HooksConfig } from '../config/config.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import { type HookEnv, HookRunner } from './hooks.ts';

const ENV: HookEnv = {
  CUTOVER_APP: 'web',
  CUTOVER_VERSION: 'v2',
  CUTOVER_PREVIOUS_VERSION: 'v1',
  CUTOVER_ENV: 'green',
  CUTOVER_DEPLOYMENT_ID: 'd-42',
};
const PRINT_ENV = 'echo "$CUTOVER_HOOK $CUTOVER_APP $CUTOVER_VERSION [$CUTOVER_PREVIOUS_VERSION] $CUTOVER_ENV $CUTOVER_DEPLOYMENT_ID"';

function configDir(t: TestContext): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cutover-hooks-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hooks(cwd: string, commands: Partial<Record<HookName, string>>, timeoutMs = 5_000): HooksConfig {
  return { commands, timeoutMs, cwd };
}

test('a hook runs in the config folder with the deployment in its environment', async (t) => {
  const dir = configDir(t);
  writeFileSync(join(dir, 'migrate.sh'), `#!/bin/sh\n${PRINT_ENV}\npwd\n`, { mode: 0o755 });
  const runner = new HookRunner(hooks(dir, { preSwitch: './migrate.sh' }));
  const result = await runner.run('preSwitch', ENV);
  assert.ok(result);
  assert.deepEqual({ ...result, ms: 0 }, {
    hook: 'preSwitch',
    command: './migrate.sh',
    ok: true,
    exitCode: 0,
    signal: null,
    output: `preSwitch web v2 [v1] green d-42\n${dir}\n`,
    ms: 0,
    timedOut: false,
  });
});

test('a first deployment has an empty previous version', async (t) => {
  const runner = new HookRunner(hooks(configDir(t), { preDeploy: PRINT_ENV }));
  const result = await runner.run('preDeploy', { ...ENV, CUTOVER_PREVIOUS_VERSION: null });
  assert.equal(result?.output, 'preDeploy web v2 [] green d-42\n');
});

test('each hook runs only its own command, and an unset hook gives null', async (t) => {
  const runner = new HookRunner(hooks(configDir(t), { postSwitch: 'echo post', onFailure: 'echo failed; exit 1' }));
  const cases: { desc: string; name: HookName; want: { ok: boolean; output: string } | null }[] = [
    { desc: 'set', name: 'postSwitch', want: { ok: true, output: 'post\n' } },
    { desc: 'set, failing', name: 'onFailure', want: { ok: false, output: 'failed\n' } },
    { desc: 'not set', name: 'preSwitch', want: null },
    { desc: 'not set either', name: 'onRollback', want: null },
  ];
  for (const { desc, name, want } of cases) {
    const result = await runner.run(name, ENV);
    assert.deepEqual(result && { ok: result.ok, output: result.output }, want, desc);
    assert.equal(runner.has(name), want !== null, desc);
  }
});

test('a hook that runs too long is killed and reported', async (t) => {
  const warnings: unknown[] = [];
  const log: Logger = { ...silentLogger, warn: (obj: unknown) => void warnings.push(obj) };
  const runner = new HookRunner(hooks(configDir(t), { preSwitch: 'echo migrating; sleep 30' }, 200), { log });
  const result = await runner.run('preSwitch', ENV);
  assert.deepEqual([result?.ok, result?.timedOut, result?.output], [false, true, 'migrating\n']);
  assert.equal(warnings.length, 1);
  assert.deepEqual({ ...(warnings[0] as object), ms: 0 }, { hook: 'preSwitch', exitCode: null, signal: 'SIGTERM', ms: 0, timedOut: true, output: 'migrating\n' });
});

test('stopping cutover stops a running hook', async (t) => {
  const controller = new AbortController();
  const runner = new HookRunner(hooks(configDir(t), { postSwitch: 'sleep 30' }), { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  const result = await runner.run('postSwitch', ENV);
  assert.deepEqual([result?.ok, result?.timedOut], [false, false]);
});


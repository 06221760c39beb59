// How a deployment's steps reach the app and the store: what a phase says must hold once the phase can be read,
// and a rollback's flip back must not wait for a commit of its own for the deployment's record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppConfig } from '../config/config.ts';
import { silentLogger } from '../core/logger.ts';
import { newAppRecord, type AppRecord, type DeploymentPhase, type DeploymentRecord } from '../core/types.ts';
import { withEnv } from './app-state.ts';
import { newDeployment } from './deployment.ts';
import { DeploymentRun, type RunDeps, type RunHost } from './deployment-run.ts';

/**
 * A run of v2 on green in `phase`, against an app whose green is `green` and live is `live`, recording each call;
 * the first `failedSaves` saves of the app fail; a save that commits resolves once `flush` does; `preSwitch`: the app
 * has a preSwitch hook (which passes).
 */
function harness(phase: DeploymentPhase, live: 'blue' | 'green', green: AppRecord['envs']['green']['state'], failedSaves = 0, flush = async () => {}, preSwitch = false) {
  const calls: string[] = [];
  let saves = 0;
  const base = withEnv(withEnv(newAppRecord('web', 0), 'blue', { version: 'v1', state: live === 'blue' ? 'live' : 'standby' }, 0), 'green', { version: 'v2', state: green }, 0);
  let app: AppRecord = { ...base, live };
  const host: RunHost = {
    config: { analysis: { bakeMs: 0 } } as AppConfig,
    get record() {
      return app;
    },
    save: async (next, deployment) => {
      if (saves++ < failedSaves) throw new Error('the store is unavailable');
      const baseline = deployment?.metrics?.baselineRequests === undefined ? '' : ` (baseline of ${deployment.metrics.baselineRequests} requests)`;
      calls.push(`save: ${next.live} live, green ${next.envs.green.state}${deployment === undefined ? '' : `, with the deployment ${deployment.phase}${baseline}`}`);
      app = next;
      await flush();
    },
    flipComing: (color) => void calls.push(`warm: ${color}`),
    persist: async (d) => void calls.push(`persist: ${d.phase}`),
    emit: (e) => void calls.push(`emit: ${e.type}`),
    scheduleRetire: () => {},
    cancelRetire: () => {},
    verdict: async () => {},
  };
  const deps = {
    driver: { stop: async () => void calls.push('driver: stop') },
    hooks: { run: async () => null, has: (name: string) => preSwitch && name === 'preSwitch' },
    stats: { forEnv: () => ({ window: () => ({ requests: 120, errors5xx: 0, errorRate: 0, p50Ms: 2, p90Ms: 4, p99Ms: 9, rps: 12 }) }) },
    preview: () => null,
    now: () => 1,
    log: silentLogger,
    signal: new AbortController().signal,
  } as unknown as RunDeps;
  const d: DeploymentRecord = { ...newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: [], who: 't', at: 0 }), phase };
  return { run: new DeploymentRun(host, deps, d, false), calls };
}

test('a rollback flips traffic back and stores the deployment as rolled back in one commit', async () => {
  const { run, calls } = harness('done', 'green', 'live');
  await run.dispatch({ type: 'rollback', who: 'cli' });
  // The data path is told first, so connections to blue open while the flip is committed.
  assert.deepEqual(calls, ['warm: blue', 'save: blue live, green ready, with the deployment rolled-back', 'emit: rollback', 'emit: deployment']);
  assert.equal(run.deployment.phase, 'rolled-back');
});

test('a verified candidate is marked ready in the commit where the deployment says ready', async () => {
  const { run, calls } = harness('verifying', 'blue', 'deploying');
  await run.dispatch({ type: 'verified' });
  assert.deepEqual(calls, ['save: blue live, green ready, with the deployment ready', 'emit: deployment']);
});

test('a rollback with nothing to flip back (live is already the old version) stores its phase on its own', async () => {
  const { run, calls } = harness('done', 'blue', 'ready');
  await run.dispatch({ type: 'rollback', who: 'cli' });
  assert.deepEqual(calls, ['persist: rolled-back', 'emit: deployment']);
});

test('a candidate that cannot be marked ready fails the deployment, which never says ready', async () => {
  const { run, calls } = harness('verifying', 'blue', 'deploying', 1);
  await run.dispatch({ type: 'verified' });
  assert.equal(run.deployment.phase, 'failed');
  // The failure's own steps (the candidate marked failed, then stopped) carry nothing of the phase never entered.
  assert.deepEqual(calls.filter((c) => !c.startsWith('emit')), ['persist: failed', 'save: blue live, green failed', 'driver: stop']);
  assert.equal(calls.filter((c) => c === 'emit: deployment').length, 1, 'one phase event: failed');
});

test('while the commit that enters a phase is being flushed, the run already says it is in that phase', async () => {
  let flushed = (): void => {};
  // Committed, so readable by anyone, until the flush ends.
  const { run, calls } = harness('verifying', 'blue', 'deploying', 0, () => new Promise<void>((resolve) => (flushed = resolve)));
  const applying = run.dispatch({ type: 'verified' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['save: blue live, green ready, with the deployment ready']);
  assert.equal(run.deployment.phase, 'ready', 'a switch sent on reading `ready` must find the run ready');
  flushed();
  await applying;
});

test('a switch stores the old environment\'s baseline, and the phase after the switch, in the flip\'s own commit', async () => {
  const { run, calls } = harness('ready', 'blue', 'ready');
  await run.dispatch({ type: 'switch', who: 'cli' });
  assert.deepEqual(calls, [
    'warm: green',
    'save: green live, green live, with the deployment done (baseline of 120 requests)',
    'emit: switch',
    'emit: deployment',
    'emit: deployment',
  ]);
  assert.deepEqual(run.deployment.phases.slice(-2).map((p) => p.phase), ['switching', 'done']);
  assert.equal(run.deployment.metrics?.baselineRequests, 120);
});

test('with a preSwitch hook, `switching` is stored before the hook runs and the flip comes after it', async () => {
  const { run, calls } = harness('ready', 'blue', 'ready', 0, async () => {}, true);
  await run.dispatch({ type: 'switch', who: 'cli' });
  assert.deepEqual(calls.filter((c) => !c.startsWith('emit')), [
    'persist: switching',
    'warm: green',
    'save: green live, green live, with the deployment switching (baseline of 120 requests)',
    'persist: done',
  ]);
  assert.equal(run.deployment.metrics?.baselineRequests, 120);
});

test('a rollback whose flip back cannot be stored fails the call, and the deployment is not recorded as rolled back', async () => {
  const { run, calls } = harness('done', 'green', 'live', 1);
  await assert.rejects(run.dispatch({ type: 'rollback', who: 'cli' }), /the store is unavailable/);
  assert.equal(run.deployment.phase, 'done');
  assert.deepEqual(calls, ['warm: blue'], 'nothing stored, nothing emitted');
});

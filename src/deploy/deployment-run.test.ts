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

interface HarnessOptions {
  /** The first this many saves of the app fail. */
  readonly failedSaves?: number;
  /** A save that commits resolves once this does. */
  readonly flush?: () => Promise<void>;
  /** The app has a preSwitch hook (which passes). */
  readonly preSwitch?: boolean;
  /** 5xx answers in every window of 120 requests the analysis reads; with any, a bake is configured. */
  readonly errors5xx?: number;
}

/** A run of v2 on green in `phase`, against an app whose green is `green` and live is `live`, recording each call. */
function harness(phase: DeploymentPhase, live: 'blue' | 'green', green: AppRecord['envs']['green']['state'], options: HarnessOptions = {}) {
  const { failedSaves = 0, flush = async () => {}, preSwitch = false, errors5xx = 0 } = options;
  const calls: string[] = [];
  let saves = 0;
  const base = withEnv(withEnv(newAppRecord('web', 0), 'blue', { version: 'v1', state: live === 'blue' ? 'live' : 'standby' }, 0), 'green', { version: 'v2', state: green }, 0);
  let app: AppRecord = { ...base, live };
  const host: RunHost = {
    config: { analysis: { bakeMs: errors5xx > 0 ? 60_000 : 0, maxErrorRate: 0.05, maxP99Ms: null, minRequests: 10, compareToBaseline: false } } as AppConfig,
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
    persist: async (d) => void calls.push(`persist: ${d.phase}`),
    emit: (e) => void calls.push(`emit: ${e.type}${e.type === 'deployment' ? ` ${(e as { phase: string }).phase}` : ''}`),
    scheduleRetire: () => {},
    cancelRetire: (color) => void calls.push(`keep: ${color}`),
    verdict: (run, event) => run.dispatch(event),
  };
  const deps = {
    driver: { stop: async () => void calls.push('driver: stop') },
    hooks: { run: async () => null, has: (name: string) => preSwitch && name === 'preSwitch' },
    stats: { forEnv: () => ({ window: () => ({ requests: 120, errors5xx, errorRate: errors5xx / 120, p50Ms: 2, p90Ms: 4, p99Ms: 9, rps: 12 }) }) },
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
  assert.deepEqual(calls, ['save: blue live, green ready, with the deployment rolled-back', 'keep: blue', 'emit: rollback', 'emit: deployment rolled-back']);
  assert.equal(run.deployment.phase, 'rolled-back');
});

test('a verified candidate is marked ready in the commit where the deployment says ready', async () => {
  const { run, calls } = harness('verifying', 'blue', 'deploying');
  await run.dispatch({ type: 'verified' });
  assert.deepEqual(calls, ['save: blue live, green ready, with the deployment ready', 'emit: deployment ready']);
});

test('a rollback with nothing to flip back (live is already the old version) stores its phase on its own', async () => {
  const { run, calls } = harness('done', 'blue', 'ready');
  await run.dispatch({ type: 'rollback', who: 'cli' });
  assert.deepEqual(calls, ['persist: rolled-back', 'emit: deployment rolled-back']);
});

test('a candidate that cannot be marked ready fails the deployment, which never says ready', async () => {
  const { run, calls } = harness('verifying', 'blue', 'deploying', { failedSaves: 1 });
  await run.dispatch({ type: 'verified' });
  assert.equal(run.deployment.phase, 'failed');
  // The failure's own steps (the candidate marked failed, then stopped) carry nothing of the phase never entered.
  assert.deepEqual(calls.filter((c) => !c.startsWith('emit')), ['persist: failed', 'save: blue live, green failed', 'driver: stop']);
  assert.deepEqual(calls.filter((c) => c.startsWith('emit: deployment')), ['emit: deployment failed'], 'one phase event: failed');
});

test('while the commit that enters a phase is being flushed, the run already says it is in that phase', async () => {
  let flushed = (): void => {};
  // Committed, so readable by anyone, until the flush ends.
  const { run, calls } = harness('verifying', 'blue', 'deploying', { flush: () => new Promise<void>((resolve) => (flushed = resolve)) });
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
  // `switching` is announced as the flip starts, so events keep their order: switching, switch, done.
  assert.deepEqual(calls, [
    'emit: deployment switching',
    'save: green live, green live, with the deployment done (baseline of 120 requests)',
    'keep: green',
    'emit: switch',
    'emit: deployment done',
  ]);
  assert.deepEqual(run.deployment.phases.slice(-2).map((p) => p.phase), ['switching', 'done']);
  assert.equal(run.deployment.metrics?.baselineRequests, 120);
});

test('with a preSwitch hook, `switching` is stored before the hook runs and the flip comes after it', async () => {
  const { run, calls } = harness('ready', 'blue', 'ready', { preSwitch: true });
  await run.dispatch({ type: 'switch', who: 'cli' });
  assert.deepEqual(calls.filter((c) => !c.startsWith('emit')), [
    'persist: switching',
    'save: green live, green live, with the deployment switching (baseline of 120 requests)',
    'keep: green',
    'persist: done',
  ]);
  assert.equal(run.deployment.metrics?.baselineRequests, 120);
});

test('a rollback whose flip back cannot be stored fails the call, and the deployment is not recorded as rolled back', async () => {
  const { run, calls } = harness('done', 'green', 'live', { failedSaves: 1 });
  await assert.rejects(run.dispatch({ type: 'rollback', who: 'cli' }), /the store is unavailable/);
  assert.equal(run.deployment.phase, 'done');
  assert.deepEqual(calls, [], 'nothing stored, nothing emitted, and blue\'s retirement left as it was');
});

test('an automatic rollback whose flip back cannot be stored is tried again: the version stays watched until it is rolled back', async (t) => {
  const { run, calls } = harness('watching', 'green', 'live', { failedSaves: 1, errors5xx: 60 });
  t.after(() => run.stopWatching());
  await run.begin([{ type: 'watch' }]);
  for (const deadline = Date.now() + 5_000; run.deployment.phase === 'watching' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  assert.equal(run.deployment.phase, 'rolled-back');
  assert.match(run.deployment.reason ?? '', /^analysis failed: error rate 50/);
  assert.deepEqual(calls.filter((c) => c.startsWith('save')), ['save: blue live, green ready, with the deployment rolled-back', 'save: blue live, green failed']);
});

test('a rollback by hand during the bake whose flip back cannot be stored leaves the version watched', async (t) => {
  const { run } = harness('watching', 'green', 'live', { failedSaves: 1, errors5xx: 60 });
  t.after(() => run.stopWatching());
  await run.begin([{ type: 'watch' }]);
  await assert.rejects(run.dispatch({ type: 'rollback', who: 'cli' }), /the store is unavailable/);
  assert.equal(run.deployment.phase, 'watching');
  // The analysis still judges it: the breach rolls it back at the next judgement.
  for (const deadline = Date.now() + 5_000; run.deployment.phase === 'watching' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  assert.match(run.deployment.reason ?? '', /^analysis failed/);
});

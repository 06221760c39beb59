import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentPhase, DeploymentRecord } from '../core/types.ts';
import { enterPhase, newDeployment } from './deployment.ts';
import { transition, type DeploymentEvent, type Effect, type MachineContext, type Transition } from './deployment-machine.ts';

function at(phase: DeploymentPhase): DeploymentRecord {
  const d = newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: ['http://127.0.0.1:1'], who: 't', at: 0 });
  return { ...d, phase };
}

const auto: MachineContext = { autoSwitch: true, watch: true, preSwitch: false, at: 10 };
const manual: MachineContext = { autoSwitch: false, watch: false, preSwitch: false, at: 10 };
const gated: MachineContext = { ...auto, preSwitch: true };

/** Effects as names; those performed before the new phase is stored (`first`) come first, marked with `first:`. */
function names(t: Transition): string[] {
  const name = (e: Effect) => (e.type === 'hook' ? `hook:${e.name}` : e.type);
  return [...(t.first ?? []).map((e) => `first:${name(e)}`), ...t.effects.map(name)];
}

const cases: { desc: string; from: DeploymentPhase; event: DeploymentEvent; ctx?: MachineContext; to: DeploymentPhase; effects: string[] }[] = [
  { desc: 'targets started: wait for health', from: 'starting', event: { type: 'started', targets: [] }, to: 'health-gate', effects: ['await-health'] },
  { desc: 'start failed', from: 'starting', event: { type: 'fail', reason: 'no cwd' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'healthy: verify', from: 'health-gate', event: { type: 'healthy' }, to: 'verifying', effects: ['verify'] },
  { desc: 'never healthy', from: 'health-gate', event: { type: 'fail', reason: 'deadline' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'verified, auto: ready then switch', from: 'verifying', event: { type: 'verified' }, to: 'ready', effects: ['first:mark-ready', 'request-switch'] },
  { desc: 'verified, manual: ready and wait', from: 'verifying', event: { type: 'verified' }, ctx: manual, to: 'ready', effects: ['first:mark-ready'] },
  { desc: 'a verify check failed', from: 'verifying', event: { type: 'fail', reason: 'GET / answered 500' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'switch: preSwitch hook then flip', from: 'ready', event: { type: 'switch', who: 'x' }, ctx: gated, to: 'switching', effects: ['hook:preSwitch', 'flip-to-new'] },
  { desc: 'switch, no preSwitch hook, a bake: watching, stored with the flip', from: 'ready', event: { type: 'switch', who: 'x' }, to: 'watching', effects: ['first:flip-to-new', 'hook:postSwitch', 'watch'] },
  { desc: 'switch, no preSwitch hook, no bake: done, stored with the flip', from: 'ready', event: { type: 'switch', who: 'x' }, ctx: manual, to: 'done', effects: ['first:flip-to-new', 'hook:postSwitch', 'schedule-retire'] },
  { desc: 'preSwitch hook failed', from: 'switching', event: { type: 'fail', reason: 'exit 1' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'switched, with a bake: watch', from: 'switching', event: { type: 'switched' }, to: 'watching', effects: ['hook:postSwitch', 'watch'] },
  { desc: 'switched, no bake: done', from: 'switching', event: { type: 'switched' }, ctx: manual, to: 'done', effects: ['hook:postSwitch', 'schedule-retire'] },
  { desc: 'bake passed', from: 'watching', event: { type: 'baked', figures: { requests: 500 } }, to: 'done', effects: ['schedule-retire'] },
  { desc: 'analysis breach rolls back', from: 'watching', event: { type: 'breach', reason: '50% errors', figures: {} }, to: 'rolled-back', effects: ['first:stop-watch', 'first:flip-back', 'stop-new', 'hook:onRollback'] },
  { desc: 'manual rollback while watching', from: 'watching', event: { type: 'rollback', who: 'x' }, to: 'rolled-back', effects: ['first:stop-watch', 'first:flip-back', 'hook:onRollback'] },
  { desc: 'switch back after a manual rollback, a bake: watched again', from: 'rolled-back', event: { type: 'switch', who: 'x' }, to: 'watching', effects: ['first:flip-to-new', 'watch'] },
  { desc: 'switch back after a manual rollback, no bake: done', from: 'rolled-back', event: { type: 'switch', who: 'x' }, ctx: manual, to: 'done', effects: ['first:flip-to-new', 'schedule-retire'] },
  { desc: 'manual rollback after done', from: 'done', event: { type: 'rollback', who: 'x' }, to: 'rolled-back', effects: ['first:flip-back', 'hook:onRollback'] },
];

for (const c of cases) {
  test(`${c.from} + ${c.event.type}: ${c.desc}`, () => {
    const t = transition(at(c.from), c.event, c.ctx ?? auto);
    const { deployment } = t;
    assert.equal(deployment.phase, c.to);
    assert.deepEqual(names(t), c.effects);
    assert.equal(deployment.phases.at(-1)!.at, 10);
  });
}

test('events that do not fit the phase are refused', () => {
  const refused: [DeploymentPhase, DeploymentEvent][] = [
    ['starting', { type: 'switch', who: 'x' }],
    ['health-gate', { type: 'switched' }],
    ['ready', { type: 'rollback', who: 'x' }],
    ['done', { type: 'fail', reason: 'late' }],
    ['failed', { type: 'healthy' }],
    ['rolled-back', { type: 'rollback', who: 'x' }],
    ['failed', { type: 'switch', who: 'x' }],
  ];
  for (const [phase, event] of refused) {
    assert.throws(() => transition(at(phase), event, auto), { code: 'INVALID_TRANSITION' }, `${phase} + ${event.type}`);
  }
});

test('a failure records its reason and the finish time; a breach records the figures', () => {
  const failed = transition(at('verifying'), { type: 'fail', reason: 'GET /version answered 500' }, auto).deployment;
  assert.deepEqual([failed.reason, failed.finishedAt], ['GET /version answered 500', 10]);
  const breach = transition(at('watching'), { type: 'breach', reason: 'p99 900ms', figures: { p99Ms: 900 } }, auto).deployment;
  assert.deepEqual([breach.reason, breach.metrics], ['analysis failed: p99 900ms', { p99Ms: 900 }]);
});

test('a rollback says who and why in its flip back (the rollback event is emitted before the record is stored)', () => {
  const flipBack = (t: Transition) => t.first?.find((e) => e.type === 'flip-back');
  assert.deepEqual(flipBack(transition(at('watching'), { type: 'breach', reason: 'p99 900ms', figures: {} }, auto)), { type: 'flip-back', reason: 'analysis failed: p99 900ms', who: 'cutover (analysis)' });
  assert.deepEqual(flipBack(transition(at('done'), { type: 'rollback', who: 'cli' }, auto)), { type: 'flip-back', reason: 'rolled back by cli', who: 'cli' });
  const restarted = transition(at('watching'), { type: 'rollback', who: 'cutover', reason: 'rolled back; recorded after a restart' }, auto);
  assert.equal(restarted.deployment.phases.at(-1)!.message, 'rolled back; recorded after a restart');
});

test('a rolled-back deployment made done again by a switch back has no reason left', () => {
  const rolledBack = enterPhase(at('done'), 'rolled-back', 20, 'rolled back by cli');
  assert.equal(rolledBack.reason, 'rolled back by cli');
  const again = enterPhase(rolledBack, 'done', 30, 'switched back by cli');
  assert.deepEqual([again.phase, again.reason, again.phases.at(-1)!.message], ['done', null, 'switched back by cli']);
});

test('a switch with no preSwitch hook keeps `switching` in the history, at the same time as the phase after it', () => {
  const { deployment } = transition(at('ready'), { type: 'switch', who: 'cli' }, auto);
  assert.deepEqual(deployment.phases.slice(-2).map((p) => [p.phase, p.at, p.message]), [
    ['switching', 10, 'switch by cli'],
    ['watching', 10, 'v2 is live on green; watching'],
  ]);
});

test('a switch back leaves no reason and no finish time on a deployment watched again', () => {
  const rolledBack = transition(at('done'), { type: 'rollback', who: 'cli' }, auto).deployment;
  const back = transition(rolledBack, { type: 'switch', who: 'cli' }, auto).deployment;
  assert.deepEqual([back.phase, back.reason, back.finishedAt, back.phases.at(-1)!.message], ['watching', null, null, 'switched back by cli; watching']);
});

test('a bake that saw too few requests to judge does not say it passed', () => {
  const unjudged = transition(at('watching'), { type: 'baked', figures: { requests: 3, judged: 0 } }, auto).deployment;
  assert.deepEqual([unjudged.phase, unjudged.phases.at(-1)!.message], ['done', 'the bake ended without a verdict: too few requests to judge']);
  const judged = transition(at('watching'), { type: 'baked', figures: { requests: 300 } }, auto).deployment;
  assert.equal(judged.phases.at(-1)!.message, 'the bake passed');
});

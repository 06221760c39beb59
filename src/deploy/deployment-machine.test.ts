import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentPhase, DeploymentRecord } from '../core/types.ts';
import { newDeployment } from './deployment.ts';
import { transition, type DeploymentEvent, type MachineContext } from './deployment-machine.ts';

function at(phase: DeploymentPhase): DeploymentRecord {
  const d = newDeployment({ app: 'web', version: 'v2', color: 'green', previousVersion: 'v1', targets: ['http://127.0.0.1:1'], who: 't', at: 0 });
  return { ...d, phase };
}

const auto: MachineContext = { autoSwitch: true, watch: true, at: 10 };
const manual: MachineContext = { autoSwitch: false, watch: false, at: 10 };

const cases: { desc: string; from: DeploymentPhase; event: DeploymentEvent; ctx?: MachineContext; to: DeploymentPhase; effects: string[] }[] = [
  { desc: 'targets started: wait for health', from: 'starting', event: { type: 'started', targets: [] }, to: 'health-gate', effects: ['await-health'] },
  { desc: 'start failed', from: 'starting', event: { type: 'fail', reason: 'no cwd' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'healthy: verify', from: 'health-gate', event: { type: 'healthy' }, to: 'verifying', effects: ['verify'] },
  { desc: 'never healthy', from: 'health-gate', event: { type: 'fail', reason: 'deadline' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'verified, auto: ready then switch', from: 'verifying', event: { type: 'verified' }, to: 'ready', effects: ['mark-ready', 'request-switch'] },
  { desc: 'verified, manual: ready and wait', from: 'verifying', event: { type: 'verified' }, ctx: manual, to: 'ready', effects: ['mark-ready'] },
  { desc: 'a verify check failed', from: 'verifying', event: { type: 'fail', reason: 'GET / answered 500' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'switch: preSwitch hook then flip', from: 'ready', event: { type: 'switch', who: 'x' }, to: 'switching', effects: ['hook:preSwitch', 'flip-to-new'] },
  { desc: 'preSwitch hook failed', from: 'switching', event: { type: 'fail', reason: 'exit 1' }, to: 'failed', effects: ['stop-new', 'hook:onFailure'] },
  { desc: 'switched, with a bake: watch', from: 'switching', event: { type: 'switched' }, to: 'watching', effects: ['hook:postSwitch', 'watch'] },
  { desc: 'switched, no bake: done', from: 'switching', event: { type: 'switched' }, ctx: manual, to: 'done', effects: ['hook:postSwitch', 'schedule-retire'] },
  { desc: 'bake passed', from: 'watching', event: { type: 'baked', figures: { requests: 500 } }, to: 'done', effects: ['schedule-retire'] },
  { desc: 'analysis breach rolls back', from: 'watching', event: { type: 'breach', reason: '50% errors', figures: {} }, to: 'rolled-back', effects: ['stop-watch', 'flip-back', 'stop-new', 'hook:onRollback'] },
  { desc: 'manual rollback while watching', from: 'watching', event: { type: 'rollback', who: 'x' }, to: 'rolled-back', effects: ['stop-watch', 'flip-back', 'hook:onRollback'] },
  { desc: 'manual rollback after done', from: 'done', event: { type: 'rollback', who: 'x' }, to: 'rolled-back', effects: ['flip-back', 'hook:onRollback'] },
];

for (const c of cases) {
  test(`${c.from} + ${c.event.type}: ${c.desc}`, () => {
    const { deployment, effects } = transition(at(c.from), c.event, c.ctx ?? auto);
    assert.equal(deployment.phase, c.to);
    assert.deepEqual(effects.map((e) => (e.type === 'hook' ? `hook:${e.name}` : e.type)), c.effects);
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CutoverEvent } from '../core/events.ts';
import { ControlEventCounts, PHASE_BUCKET_SECONDS } from './control-event-counts.ts';

const T0 = 1_700_000_000_000;
let nextId = 1;

function event(type: string, at: number, fields: Record<string, unknown> = {}): CutoverEvent {
  return { id: nextId++, type, at, app: 'web', ...fields };
}

function phase(id: string, name: string, at: number, message: string | null = null): CutoverEvent {
  return event('deployment', at, { deployment: id, phase: name, version: 'v', color: 'green', message });
}

function fed(events: CutoverEvent[]): ControlEventCounts {
  const counts = new ControlEventCounts();
  for (const e of events) counts.observe(e);
  return counts;
}

test('switches and deployment outcomes are counted per app', () => {
  const counts = fed([
    phase('d1', 'starting', T0), phase('d1', 'done', T0 + 1000), event('switch', T0 + 900),
    phase('d2', 'starting', T0 + 2000), phase('d2', 'failed', T0 + 3000),
    { ...event('switch', T0 + 4000), app: 'api' },
    event('target.health', T0 + 5000, { healthy: false }),
    { id: 0, type: 'switch', at: T0 }, // no app: not countable
  ]);
  assert.deepEqual(counts.switchCounts(), [{ app: 'api', count: 1 }, { app: 'web', count: 1 }]);
  assert.deepEqual(counts.deploymentCounts().map((c) => [c.label, c.count]), [['done', 1], ['failed', 1]]);
});

test('a rollback is manual when someone asked for it, analysis when the bake failed', () => {
  const cases: { desc: string; events: CutoverEvent[]; want: [string, number][] }[] = [
    {
      desc: 'an operator rolled back the standby (the event carries who)',
      events: [event('rollback', T0, { who: 'api' }), phase('d1', 'rolled-back', T0 + 1, 'rolled back by api')],
      want: [['manual', 1]],
    },
    {
      desc: 'the analysis failed during the bake (the deployment flips back first, then records its phase)',
      events: [event('rollback', T0, { who: 'cutover (analysis)', reason: 'analysis failed: error rate 0.2 > 0.01' }), phase('d1', 'rolled-back', T0 + 1, 'analysis failed: error rate 0.2 > 0.01')],
      want: [['analysis', 1]],
    },
    {
      desc: 'an operator rolled back during the bake (through the deployment, which emits its reason and who)',
      events: [event('rollback', T0, { who: 'cli', reason: 'rolled back by cli' }), phase('d1', 'rolled-back', T0 + 1, 'rolled back by cli')],
      want: [['manual', 1]],
    },
    {
      desc: 'a manual rollback after an analysis one is not taken for another analysis',
      events: [
        event('rollback', T0, { reason: 'analysis failed: p99' }), phase('d1', 'rolled-back', T0 + 1, 'analysis failed: p99'),
        event('rollback', T0 + 2, { who: 'api' }), phase('d2', 'rolled-back', T0 + 3, 'rolled back by api'),
        event('rollback', T0 + 4, { who: 'cli' }),
      ],
      want: [['analysis', 1], ['manual', 2]],
    },
  ];
  for (const c of cases) assert.deepEqual(fed(c.events).rollbackCounts().map((r) => [r.label, r.count]), c.want, c.desc);
});

test('each phase is timed from its event to the next one of the same deployment', () => {
  const counts = fed([
    phase('d1', 'starting', T0),
    phase('d2', 'starting', T0 + 100), // another app's deployment, interleaved
    phase('d1', 'health-gate', T0 + 400),
    phase('d1', 'verifying', T0 + 2400),
    phase('d1', 'ready', T0 + 2500),
    phase('d1', 'switching', T0 + 2500),
    phase('d1', 'watching', T0 + 2600),
    phase('d1', 'done', T0 + 122_600),
    phase('d1', 'rolled-back', T0 + 200_000, 'rolled back by api'), // after the end: no phase to time
  ]);
  const got = Object.fromEntries(counts.phaseDurations().map((p) => [p.phase, [p.count, p.sumSeconds]]));
  assert.deepEqual(got, {
    starting: [1, 0.4],
    'health-gate': [1, 2],
    verifying: [1, 0.1],
    ready: [1, 0],
    switching: [1, 0.1],
    watching: [1, 120],
  });
  const watching = counts.phaseDurations().find((p) => p.phase === 'watching')!;
  assert.equal(watching.buckets[PHASE_BUCKET_SECONDS.indexOf(120)], 1, 'two minutes land in the 120 s bucket');
  assert.deepEqual(counts.deploymentCounts().map((c) => [c.label, c.count]), [['done', 1], ['rolled-back', 1]]);
});

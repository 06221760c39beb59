// The deployment lifecycle as a pure function: transition(deployment, event) → { deployment, first?, effects }.
// The controller performs the effects and feeds their outcomes back as events; nothing here does I/O.
//
//  starting ─► health-gate ─► verifying ─► ready ─(auto or `switch`)─► switching ─► watching ─► done
//      └───────────┴──────────────┴─────────┴────────────┴─► failed        └─► rolled-back
//                                                            watching or done ◄─(`switch` back)─┘
//
// Without a preSwitch hook nothing runs between `switching` and the flip: the deployment passes through it and is
// stored in the flip's own commit as `watching` (or `done`).

import type { HookName } from '../config/config.ts';
import { StateConflictError } from '../core/errors.ts';
import { ANALYSIS_FAILED, type DeploymentPhase, type DeploymentRecord } from '../core/types.ts';
import { enterPhase } from './deployment.ts';

export type DeploymentEvent =
  | { readonly type: 'started'; readonly targets: readonly string[] }
  | { readonly type: 'healthy' }
  | { readonly type: 'verified' }
  | { readonly type: 'switch'; readonly who: string }
  | { readonly type: 'switched' }
  | { readonly type: 'baked'; readonly figures: Readonly<Record<string, number>> }
  | { readonly type: 'breach'; readonly reason: string; readonly figures: Readonly<Record<string, number>> }
  /** `reason` replaces "rolled back by `who`" in the record (recovery: a flip back found stored without it). */
  | { readonly type: 'rollback'; readonly who: string; readonly reason?: string }
  /** Any step failing before the switch: the driver, the health gate, a verify check, a pre-hook, a restart. */
  | { readonly type: 'fail'; readonly reason: string };

/**
 * What the controller must do. `hook` for preDeploy and preSwitch gates the deployment (a failure becomes a `fail`
 * event); the other hooks only report. Effects run in order; one that fails stops the rest.
 */
export type Effect =
  | { readonly type: 'hook'; readonly name: HookName }
  | { readonly type: 'start-targets' }
  | { readonly type: 'await-health' }
  | { readonly type: 'verify' }
  | { readonly type: 'mark-ready' }
  | { readonly type: 'request-switch' }
  /**
   * Makes the candidate live. After a preSwitch hook (an effect of `switching`) it answers `switched`; as a `first`
   * effect it stores the phase after the switch in the flip's own commit and answers nothing.
   */
  | { readonly type: 'flip-to-new'; readonly who: string }
  | { readonly type: 'watch' }
  | { readonly type: 'stop-watch' }
  /** `reason`: why, for the `rollback` event, which is emitted before the phase event of the same commit. */
  | { readonly type: 'flip-back'; readonly reason: string; readonly who: string }
  | { readonly type: 'stop-new' }
  | { readonly type: 'schedule-retire' };

export interface MachineContext {
  /** `switch: auto` and no `--no-switch`. */
  readonly autoSwitch: boolean;
  /** A bake window is configured. */
  readonly watch: boolean;
  /** A preSwitch hook is configured: it runs, and may stop the switch, between `switching` and the flip. */
  readonly preSwitch: boolean;
  readonly at: number;
}

export interface Transition {
  readonly deployment: DeploymentRecord;
  /**
   * Their change of the app is stored in one commit with the new phase, so what a phase says holds once anyone can
   * read it, and a crash never leaves one without the other: the candidate marked ready with `ready`, a rollback's
   * flip back with `rolled-back`. The phase is stored on its own when they change nothing (nothing to flip back).
   */
  readonly first?: readonly Effect[];
  readonly effects: readonly Effect[];
}

/** Who rolls back a deployment its analysis rejected, in the `rollback` event. */
const ANALYSIS_WHO = 'cutover (analysis)';

/** The effects that start a new deployment (which is in `starting`). */
export const BEGIN_EFFECTS: readonly Effect[] = [{ type: 'hook', name: 'preDeploy' }, { type: 'start-targets' }];

/** The next state and the effects to perform, or a StateConflictError naming why the event does not fit. */
export function transition(d: DeploymentRecord, event: DeploymentEvent, ctx: MachineContext): Transition {
  const step = STEPS[d.phase]?.[event.type];
  if (step === undefined) throw new StateConflictError('INVALID_TRANSITION', `deployment ${d.id} is ${d.phase}; "${event.type}" does not apply`);
  return step(d, event as never, ctx);
}

type Step<E extends DeploymentEvent['type']> = (d: DeploymentRecord, e: Extract<DeploymentEvent, { type: E }>, ctx: MachineContext) => Transition;
type Steps = { readonly [E in DeploymentEvent['type']]?: Step<E> };

const fail: Step<'fail'> = (d, e, ctx) => ({
  deployment: enterPhase(d, 'failed', ctx.at, e.reason),
  effects: [{ type: 'stop-new' }, { type: 'hook', name: 'onFailure' }],
});

const rollback = (reason: string, who: string, d: DeploymentRecord, ctx: MachineContext, figures: Readonly<Record<string, number>> | null): Transition => ({
  deployment: { ...enterPhase(d, 'rolled-back', ctx.at, reason), metrics: figures ?? d.metrics },
  first: [{ type: 'stop-watch' }, { type: 'flip-back', reason, who }],
  effects: [{ type: 'hook', name: 'onRollback' }],
});

const switched: Step<'switched'> = (d, _e, ctx) =>
  ctx.watch
    ? { deployment: enterPhase(d, 'watching', ctx.at, `${d.version} is live on ${d.color}; watching`), effects: [{ type: 'hook', name: 'postSwitch' }, { type: 'watch' }] }
    : { deployment: enterPhase(d, 'done', ctx.at, `${d.version} is live on ${d.color}`), effects: [{ type: 'hook', name: 'postSwitch' }, { type: 'schedule-retire' }] };

const rollbackReason = (e: Extract<DeploymentEvent, { type: 'rollback' }>): string => e.reason ?? `rolled back by ${e.who}`;

/** A version the analysis rejected is not left warm for a casual switch back: it is stopped and marked failed. */
const breach: Step<'breach'> = (d, e, ctx) => {
  const t = rollback(`${ANALYSIS_FAILED} ${e.reason}`, ANALYSIS_WHO, d, ctx, e.figures);
  return { ...t, effects: [{ type: 'stop-new' }, { type: 'hook', name: 'onRollback' }] };
};

const STEPS: { readonly [P in DeploymentPhase]?: Steps } = {
  starting: {
    started: (d, _e, ctx) => ({
      deployment: enterPhase(d, 'health-gate', ctx.at, `waiting for ${d.targets.length} target(s) to pass their health checks`),
      effects: [{ type: 'await-health' }],
    }),
    fail,
  },
  'health-gate': {
    healthy: (d, _e, ctx) => ({ deployment: enterPhase(d, 'verifying', ctx.at, 'every target is healthy'), effects: [{ type: 'verify' }] }),
    fail,
  },
  verifying: {
    verified: (d, _e, ctx) => ({
      deployment: enterPhase(d, 'ready', ctx.at, ctx.autoSwitch ? 'verified; switching' : 'verified; waiting for `cutover switch`'),
      first: [{ type: 'mark-ready' }],
      effects: ctx.autoSwitch ? [{ type: 'request-switch' }] : [],
    }),
    fail,
  },
  ready: {
    switch: (d, e, ctx) => {
      const switching = enterPhase(d, 'switching', ctx.at, `switch by ${e.who}`);
      if (ctx.preSwitch) return { deployment: switching, effects: [{ type: 'hook', name: 'preSwitch' }, { type: 'flip-to-new', who: e.who }] };
      // No step between: the flip is stored with the phase after it, and brings no `switched` of its own.
      const after = switched(switching, { type: 'switched' }, ctx);
      return { deployment: after.deployment, first: [{ type: 'flip-to-new', who: e.who }], effects: after.effects };
    },
    fail,
  },
  switching: { switched, fail },
  watching: {
    baked: (d, e, ctx) => ({
      deployment: { ...enterPhase(d, 'done', ctx.at, e.figures.judged === 0 ? 'the bake ended without a verdict: too few requests to judge' : 'the bake passed'), metrics: e.figures },
      effects: [{ type: 'schedule-retire' }],
    }),
    breach,
    rollback: (d, e, ctx) => rollback(rollbackReason(e), e.who, d, ctx, null),
  },
  // Only a version rolled back by hand is left warm to switch back to (a breach stops it). Back live, it is watched
  // again like after its first switch; its hooks ran then and do not run again.
  'rolled-back': {
    switch: (d, e, ctx) => {
      const back = `switched back by ${e.who}`;
      return ctx.watch
        ? { deployment: enterPhase(d, 'watching', ctx.at, `${back}; watching`), first: [{ type: 'flip-to-new', who: e.who }], effects: [{ type: 'watch' }] }
        : { deployment: enterPhase(d, 'done', ctx.at, back), first: [{ type: 'flip-to-new', who: e.who }], effects: [{ type: 'schedule-retire' }] };
    },
  },
  done: {
    rollback: (d, e, ctx) => {
      const reason = rollbackReason(e);
      return { ...rollback(reason, e.who, d, ctx, null), first: [{ type: 'flip-back', reason, who: e.who }] };
    },
  },
};

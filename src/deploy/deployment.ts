// Pure helpers over DeploymentRecord: every change returns a new record; nothing here does I/O.
import { randomUUID } from 'node:crypto';
import { TERMINAL_PHASES, type Color, type DeploymentPhase, type DeploymentRecord } from '../core/types.ts';

export interface NewDeployment {
  readonly app: string;
  readonly version: string;
  readonly color: Color;
  readonly previousVersion: string | null;
  readonly targets: readonly string[];
  readonly who: string;
  readonly at: number;
}

export function newDeployment(d: NewDeployment): DeploymentRecord {
  return {
    id: `${d.at.toString(36)}-${randomUUID().slice(0, 8)}`,
    app: d.app,
    version: d.version,
    color: d.color,
    previousVersion: d.previousVersion,
    targets: [...d.targets],
    who: d.who,
    phase: 'starting',
    phases: [{ phase: 'starting', at: d.at, message: `deploying ${d.version} to ${d.color}` }],
    reason: null,
    createdAt: d.at,
    finishedAt: null,
    metrics: null,
    hooks: [],
  };
}

/**
 * The record after entering `phase`; a terminal phase also sets the reason (none for `done`) and the finish time.
 * Every other phase has neither: a switch back makes a rolled-back deployment `watching` or `done` again.
 */
export function enterPhase(d: DeploymentRecord, phase: DeploymentPhase, at: number, message?: string): DeploymentRecord {
  const terminal = TERMINAL_PHASES.has(phase);
  return {
    ...d,
    phase,
    phases: [...d.phases, message === undefined ? { phase, at } : { phase, at, message }],
    reason: terminal && phase !== 'done' ? (message ?? null) : null,
    finishedAt: terminal ? at : null,
  };
}

export function isOpen(d: DeploymentRecord): boolean {
  return !TERMINAL_PHASES.has(d.phase);
}

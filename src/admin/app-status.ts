import { type Color, type EnvState } from '../core/types.ts';
import { roleOf } from '../deploy/app-state.ts';
import type { AppController } from '../deploy/app-controller.ts';
import type { AppConfig } from '../config/config.ts';
import type { TargetStatus } from '../pool/target.ts';
import type { InstanceDescription } from '../drivers/environment-driver.ts';

export interface TargetStatusSource {
  statuses(app: string, color: Color, urls: readonly string[]): TargetStatus[];
}

export interface EnvStatus {
  readonly color: Color;
  readonly role: 'live' | 'candidate' | 'standby' | 'idle';
  readonly state: EnvState;
  readonly version: string | null;
  readonly since: number;
  readonly targets: readonly TargetStatus[];
  /** What the driver runs for this environment (processes with their pid and restarts, or external targets). */
  readonly instances: readonly InstanceDescription[];
}

export interface AppStatus {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly live: Color | null;
  readonly generation: number;
  readonly switchMode: 'auto' | 'manual';
  readonly busy: string | null;
  readonly driver: string;
  /** While paused: until when, and how many requests are held. */
  readonly paused: { readonly until: number; readonly held: number } | null;
  /** The deployment in progress or waiting for a switch, if any. */
  readonly deployment: { readonly id: string; readonly version: string; readonly phase: string } | null;
  readonly envs: { readonly blue: EnvStatus; readonly green: EnvStatus };
  readonly alerts: readonly string[];
  /** With several instances sharing etcd: the one that runs this app's control operations (null: none now). */
  readonly leader?: { readonly id: string; readonly adminUrl: string } | null;
}

/** What `GET /api/apps/:app` answers and `cutover status` prints. */
export function appStatus(app: AppController, config: AppConfig, targets: TargetStatusSource, held: number): AppStatus {
  const record = app.state;
  const env = (color: Color): EnvStatus => {
    const e = record.envs[color];
    const routed = e.state === 'empty' || e.state === 'failed' || e.state === 'retired' ? [] : e.targets;
    const statuses = targets.statuses(record.name, color, routed);
    const instances = app.options.driver.describe(record.name, color);
    return { color, role: roleOf(record, color), state: e.state, version: e.version, since: e.since, targets: statuses, instances };
  };
  const envs = { blue: env('blue'), green: env('green') };
  return {
    name: record.name,
    hosts: config.hosts,
    live: record.live,
    generation: record.generation,
    switchMode: config.switch,
    busy: app.busyWith,
    driver: app.options.driver.kind,
    paused: app.pausedUntil === null ? null : { until: app.pausedUntil, held },
    deployment: app.current?.open ? { id: app.current.deployment.id, version: app.current.deployment.version, phase: app.current.deployment.phase } : null,
    envs,
    alerts: alerts(record.live === null ? null : envs[record.live]),
  };
}

function alerts(live: EnvStatus | null): string[] {
  if (live === null || live.targets.length === 0) return [];
  if (live.targets.every((t) => !t.healthy)) {
    return [`every live target of ${live.color} is failing its health checks; traffic still goes to them`];
  }
  return [];
}


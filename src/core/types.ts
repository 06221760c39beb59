// Shared vocabulary of the control plane and the data path. Plain data only: everything here serializes to JSON.

export type Color = 'blue' | 'green';
export const COLORS: readonly Color[] = ['blue', 'green'];

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/**
 * What an environment is doing. The role (live / candidate / standby) follows from it and the app's live color:
 * - empty: nothing deployed
 * - deploying: a deployment is bringing a version up here
 * - ready: a version passed its gates and waits for the switch (the candidate)
 * - live: takes all public traffic
 * - standby: was live before the last switch; kept warm for rollback
 * - retired: was standby until its time ran out; its instances are stopped, its version is remembered so that a
 *   rollback can bring it back through the driver; not routable
 * - failed: the last deployment here failed; not routable
 */
export type EnvState = 'empty' | 'deploying' | 'ready' | 'live' | 'standby' | 'retired' | 'failed';

export interface EnvRecord {
  readonly color: Color;
  readonly version: string | null;
  readonly targets: readonly string[];
  readonly state: EnvState;
  /** When this environment entered its state (epoch ms). */
  readonly since: number;
}

/** The durable state of one app. `revision` is the store's compare-and-swap token. */
export interface AppRecord {
  readonly name: string;
  readonly live: Color | null;
  readonly envs: { readonly blue: EnvRecord; readonly green: EnvRecord };
  /** Bumped by every route change; instances report the generation they applied. */
  readonly generation: number;
  readonly revision: number;
  /**
   * While paused, new requests are held until this time (epoch ms) or a resume. Stored, so a restart, a hand-over
   * and every instance sharing the store hold them too; absent in records written before pauses were stored.
   */
  readonly pausedUntil?: number | null;
}

export type DeploymentPhase =
  | 'starting'
  | 'health-gate'
  | 'verifying'
  | 'ready'
  | 'switching'
  | 'watching'
  | 'done'
  | 'failed'
  | 'rolled-back';

export const TERMINAL_PHASES: ReadonlySet<DeploymentPhase> = new Set(['done', 'failed', 'rolled-back']);

/** How the reason of a deployment its analysis rolled back starts (the machine writes it; metrics and switch read it). */
export const ANALYSIS_FAILED = 'analysis failed:';

export interface PhaseEntry {
  readonly phase: DeploymentPhase;
  readonly at: number;
  readonly message?: string;
}

/** A hook's run, kept in the deployment's history. */
export interface HookOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly ms: number;
  readonly timedOut: boolean;
  /** The end of its combined output, bounded. */
  readonly output: string;
  readonly at: number;
}

export interface DeploymentRecord {
  readonly id: string;
  readonly app: string;
  readonly version: string;
  readonly color: Color;
  readonly previousVersion: string | null;
  readonly targets: readonly string[];
  readonly who: string;
  readonly phase: DeploymentPhase;
  readonly phases: readonly PhaseEntry[];
  readonly reason: string | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly metrics: Readonly<Record<string, number>> | null;
  readonly hooks: readonly HookOutcome[];
}

export function emptyEnv(color: Color, at: number): EnvRecord {
  return { color, version: null, targets: [], state: 'empty', since: at };
}

export function newAppRecord(name: string, at: number): AppRecord {
  return {
    name,
    live: null,
    envs: { blue: emptyEnv('blue', at), green: emptyEnv('green', at) },
    generation: 0,
    revision: 0,
  };
}

/** What one `cutover serve` sharing etcd with others tells them about itself (kept under its etcd lease). */
export interface InstanceRecord {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly adminUrl: string;
  readonly proxyUrl: string;
  readonly startedAt: number;
  /** When it last applied a route table. */
  readonly appliedAt: number;
  /** Per app, the stored record its data path routes by now: comparable across instances. */
  readonly apps: Readonly<Record<string, AppliedRoute>>;
}

export interface AppliedRoute {
  /** The app's route generation (bumped by every switch and rollback). */
  readonly generation: number;
  /** The app record's store revision, bumped by every stored change. */
  readonly revision: number;
}

import type { AppConfig, HookName } from '../config/config.ts';
import { abortReason } from '../core/abort-reason.ts';
import { toCutoverError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { otherColor, TERMINAL_PHASES, type AppRecord, type Color, type DeploymentRecord } from '../core/types.ts';
import type { EnvironmentDriver, InstanceDescription } from '../drivers/environment-driver.ts';
import type { HealthView } from '../health/health-view.ts';
import { AnalysisWatch, metricsOf, takeBaseline, type Judgement, type StatsSource } from './analysis.ts';
import { withEnv, withEnvState } from './app-state.ts';
import { flipApp, type Flip, type FlipHost } from './flip.ts';
import { transition, type DeploymentEvent, type Effect } from './deployment-machine.ts';
import type { HookRunner } from './hooks.ts';
import { verifyCandidate, type PreviewRoute } from './verifier.ts';
import { waitForHealthy } from './wait-healthy.ts';

/** What a deployment needs from the app it belongs to. */
export interface RunHost extends FlipHost {
  readonly config: AppConfig;
  /** Stores the app (and `deployment` in the same commit), then applies it. */
  save(next: AppRecord, deployment?: DeploymentRecord): Promise<void>;
  persist(deployment: DeploymentRecord): Promise<void>;
  scheduleRetire(color: Color): void;
  /** Applies an analysis verdict under the app's lock. */
  verdict(run: DeploymentRun, event: DeploymentEvent): Promise<void>;
}

export interface RunDeps {
  readonly driver: EnvironmentDriver;
  readonly health: HealthView;
  readonly stats: { forEnv(app: string, color: Color): StatsSource; reset(app: string, color: Color): void };
  readonly hooks: HookRunner;
  readonly preview: () => PreviewRoute | null;
  readonly now: () => number;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

const HOOK_OUTPUT_KEPT = 4_096;
/** Phases in which a failing effect fails the deployment (live was not touched yet). */
const FAILABLE: ReadonlySet<string> = new Set(['starting', 'health-gate', 'verifying', 'ready', 'switching']);
/** Hooks whose failure stops the deployment; the others only report. */
const GATING_HOOKS: ReadonlySet<HookName> = new Set(['preDeploy', 'preSwitch']);

/**
 * Drives one deployment through the lifecycle machine: each event becomes a stored transition and an emitted event,
 * then its effects run in order. An effect may answer with the next event (it is always the list's last, or a
 * failure that cuts the list short). Events from outside (a switch, a rollback, an analysis verdict) are queued.
 */
export class DeploymentRun {
  private queue: Promise<void> = Promise.resolve();
  private watch: AnalysisWatch | null = null;
  /** The phase being entered, while its `first` effects run: stored in one commit with their change of the app. */
  private entering: DeploymentRecord | null = null;

  constructor(
    private readonly host: RunHost,
    private readonly deps: RunDeps,
    public deployment: DeploymentRecord,
    private readonly autoSwitch: boolean,
  ) {}

  get open(): boolean {
    return !TERMINAL_PHASES.has(this.deployment.phase);
  }

  /**
   * Waits for no step of its own: ended, watching its bake, or ready for a switch it will not make itself. What it
   * still runs then are its last steps (hooks, bookkeeping).
   */
  get atRest(): boolean {
    const { phase } = this.deployment;
    return !this.open || phase === 'watching' || (phase === 'ready' && !this.autoSwitch);
  }

  /** Applies `event` after every event queued before it; rejects when it does not fit the phase. */
  dispatch(event: DeploymentEvent): Promise<void> {
    const next = this.queue.then(() => this.apply(event));
    this.queue = next.catch(() => {});
    return next;
  }

  /** Runs `effects` for a deployment just created (or resumed after a restart). */
  begin(effects: readonly Effect[]): Promise<void> {
    const next = this.queue.then(async () => void (await this.perform(effects)));
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * A rollback from `watching` stopped the watch and then could not flip back (the store refused it): the version is
   * still live and still watched, so a breach tries again at the next judgement. Not once cutover is stopping.
   */
  private watchAgain(): void {
    const { phase, color } = this.deployment;
    if (this.watch !== null || phase !== 'watching' || this.host.record.live !== color || this.deps.signal.aborted) return;
    this.startWatch();
  }

  stopWatching(): void {
    this.watch?.stop();
    this.watch = null;
  }

  private async apply(event: DeploymentEvent): Promise<void> {
    // A first deployment has nothing to roll back to, so there is nothing to watch for.
    const watch = this.host.config.analysis.bakeMs > 0 && this.deployment.previousVersion !== null;
    const ctx = { autoSwitch: this.autoSwitch, watch, preSwitch: this.deps.hooks.has('preSwitch'), at: this.deps.now() };
    const { deployment, first, effects } = transition(this.deployment, event, ctx);
    if (first === undefined) await this.record(deployment);
    else if (!(await this.enter(deployment, first))) return;
    await this.perform(effects);
  }

  /**
   * Runs `first` with `next` stored in the same commit as the app change they make (a flip back, the candidate
   * marked ready), or on its own when they make none. False when one of them failed the deployment instead (the
   * candidate could not be marked ready): `next` is not entered then. After the switch one that fails throws, and
   * nothing is entered (a watch its rollback stopped is started again).
   */
  private async enter(next: DeploymentRecord, first: readonly Effect[]): Promise<boolean> {
    const last = next.phases.length - 1;
    // A phase passed through on the way (`switching`, when no preSwitch hook runs in it) is announced as it starts,
    // so events keep their order and the phase its time; it is stored with the one entered, which is announced once
    // stored.
    this.announce(next, Math.min(this.deployment.phases.length, last), last);
    this.entering = next;
    let handedOff: boolean;
    /** Still to store: none of `first` stored it (saveApp clears `entering` when it does). */
    let unstored: DeploymentRecord | null;
    try {
      handedOff = await this.perform(first, true);
    } catch (err) {
      this.watchAgain();
      throw err;
    } finally {
      unstored = this.entering;
      this.entering = null;
    }
    if (handedOff) return false;
    if (unstored === null) this.announce(this.deployment);
    else await this.record(unstored);
    return true;
  }

  /**
   * Stores a change of the app, and in the same commit `deployment`: by default the phase being entered, while
   * `first` effects run and it is not stored yet.
   */
  private async saveApp(next: AppRecord, deployment: DeploymentRecord | null = this.entering): Promise<void> {
    if (deployment === null) return this.host.save(next);
    // Readable once committed, before the save resolves (after the flush): this run says so from then on too, as
    // record() does, so a call sent on seeing the phase finds the run in it. Not committed: back as it was.
    const before = this.deployment;
    this.deployment = deployment;
    try {
      await this.host.save(next, deployment);
    } catch (err) {
      this.deployment = before;
      throw err;
    }
    if (deployment === this.entering) this.entering = null;
  }

  /**
   * Performs `effects` in order; true when one's outcome became the next event (applied, so the caller stops).
   * `first`: they make the change a phase is entered with, so one that fails after the switch throws (the phase is
   * not entered, and the caller hears why) instead of being logged.
   */
  private async perform(effects: readonly Effect[], first = false): Promise<boolean> {
    for (const effect of effects) {
      let next: DeploymentEvent | null;
      try {
        next = await this.effect(effect);
      } catch (err) {
        // Before the switch a failure fails the deployment; after it (or once ended) there is nothing to fail
        // back to, so it is logged and the remaining effects still run.
        if (!FAILABLE.has(this.deployment.phase)) {
          if (first) throw err;
          this.logError(err);
          continue;
        }
        next = { type: 'fail', reason: toCutoverError(err).message };
      }
      if (next !== null) {
        // The phase being entered (if any) is abandoned: the next event's saves must not carry it.
        this.entering = null;
        await this.apply(next);
        return true;
      }
    }
    return false;
  }

  private async effect(effect: Effect): Promise<DeploymentEvent | null> {
    switch (effect.type) {
      case 'hook': return this.hook(effect.name);
      case 'start-targets': return this.startTargets();
      case 'await-health': return this.awaitHealth();
      case 'verify': return this.verify();
      case 'mark-ready': return this.setEnv(this.deployment.color, 'ready');
      // The switch of a deployment that switches by itself is its deployer's.
      case 'request-switch': return { type: 'switch', who: this.deployment.who };
      case 'flip-to-new': return this.flipToNew(effect.who);
      case 'watch': return this.startWatch();
      case 'stop-watch': return (this.stopWatching(), null);
      case 'flip-back': return this.flipBack(effect.reason, effect.who);
      case 'stop-new': return this.stopNew();
      case 'schedule-retire': return (this.host.scheduleRetire(otherColor(this.deployment.color)), null);
    }
  }

  private async hook(name: HookName): Promise<DeploymentEvent | null> {
    const d = this.deployment;
    const result = await this.deps.hooks.run(name, {
      CUTOVER_APP: d.app,
      CUTOVER_VERSION: d.version,
      CUTOVER_PREVIOUS_VERSION: d.previousVersion,
      CUTOVER_ENV: d.color,
      CUTOVER_DEPLOYMENT_ID: d.id,
    });
    if (result === null) return null;
    const outcome = { name, ok: result.ok, exitCode: result.exitCode, ms: Math.round(result.ms), timedOut: result.timedOut, output: result.output.slice(-HOOK_OUTPUT_KEPT), at: this.deps.now() };
    await this.record({ ...this.deployment, hooks: [...this.deployment.hooks, outcome] }, false);
    if (result.ok || !GATING_HOOKS.has(name)) return null;
    const how = this.deps.signal.aborted ? `was cut short (${abortReason(this.deps.signal)})` : result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
    return { type: 'fail', reason: `the ${name} hook ${how}: ${result.output.trim().split('\n').pop() ?? ''}` };
  }

  private async startTargets(): Promise<DeploymentEvent> {
    const d = this.deployment;
    this.host.cancelRetire(d.color);
    // The environment is this deployment's from here: if the driver fails, it is what gets marked failed.
    await this.saveApp(withEnv(this.host.record, d.color, { version: d.version, targets: [], state: 'deploying' }, this.deps.now()));
    const targets = await this.deps.driver.start({ app: d.app, color: d.color, version: d.version, targets: d.targets }, this.deps.signal);
    this.deps.stats.reset(d.app, d.color);
    await this.record({ ...this.deployment, targets }, false);
    await this.saveApp(withEnv(this.host.record, d.color, { targets }, this.deps.now()));
    return { type: 'started', targets };
  }

  private async awaitHealth(): Promise<DeploymentEvent> {
    const d = this.deployment;
    const problem = await waitForHealthy(this.deps.health, d.app, d.color, d.targets, this.host.config.health.deadlineMs, this.deps.signal);
    if (problem === null) return { type: 'healthy' };
    return { type: 'fail', reason: `${problem}${exitsOf(this.deps.driver.describe(d.app, d.color))}` };
  }

  private async verify(): Promise<DeploymentEvent> {
    const d = this.deployment;
    const { verify, hooks } = this.host.config;
    const problem = await verifyCandidate({
      config: verify,
      targets: d.targets,
      vars: { version: d.version, env: d.color, app: d.app },
      preview: this.deps.preview(),
      cwd: hooks.cwd,
      signal: this.deps.signal,
    });
    return problem === null ? { type: 'verified' } : { type: 'fail', reason: problem };
  }

  private async flipToNew(who: string): Promise<DeploymentEvent | null> {
    // Entering the phase after the switch (no preSwitch hook): the flip stores it, and there is no `switched` to send.
    const entering = this.entering !== null;
    const d = this.entering ?? this.deployment;
    const old = this.host.record.live;
    // The old environment's figures up to the flip, stored in the flip's own commit: what analysis compares with.
    const baseline = old === null ? null : takeBaseline(this.deps.stats.forEnv(d.app, old), this.deps.now());
    const stored = baseline === null ? d : { ...d, metrics: prefixed('baseline', baseline) };
    // The phase being entered is now this record: saveApp knows it by identity, and clears `entering` once stored.
    if (entering) this.entering = stored;
    await this.flip({ to: d.color, leftAs: 'standby', action: 'switch', who }, stored);
    return entering ? null : { type: 'switched' };
  }

  private startWatch(): null {
    const d = this.deployment;
    const m = d.metrics ?? {};
    const baseline = m.baselineRequests === undefined ? null : unprefixed('baseline', m);
    const switchedAt = [...d.phases].reverse().find((p) => p.phase === 'watching')?.at ?? this.deps.now();
    this.watch = new AnalysisWatch({
      source: this.deps.stats.forEnv(d.app, d.color),
      config: this.host.config.analysis,
      baseline,
      switchedAt,
      listener: {
        onFail: (j) => void this.host.verdict(this, { type: 'breach', reason: j.reason ?? 'thresholds breached', figures: metricsOf(j.figures) }).catch(this.logError),
        onDone: (j) => void this.host.verdict(this, { type: 'baked', figures: figuresOf(j) }).catch(this.logError),
      },
    });
    this.watch.start();
    return null;
  }

  private async flipBack(reason: string, who: string): Promise<null> {
    const back = otherColor(this.deployment.color);
    if (this.host.record.live !== this.deployment.color) return null;
    await this.flip({ to: back, leftAs: 'ready', action: 'rollback', who, reason });
    this.host.scheduleRetire(this.deployment.color);
    return null;
  }

  private async stopNew(): Promise<null> {
    const { app, color, version } = this.deployment;
    const env = this.host.record.envs[color];
    // Only what this deployment took over: a failure before its start must not touch a warm standby.
    if (this.host.record.live === color || env.version !== version || (env.state !== 'deploying' && env.state !== 'ready')) return null;
    // Out of the route table first (no more probes or preview traffic), then the instances stop.
    if (this.host.record.envs[color].state !== 'empty') await this.setEnv(color, 'failed');
    await this.deps.driver.stop(app, color);
    return null;
  }

  /** Flips the app for this deployment, storing `record` (by default the phase being entered, if any) in the same commit. */
  private flip(flip: Omit<Flip, 'deployment'>, record?: DeploymentRecord): Promise<void> {
    const save = (next: AppRecord) => this.saveApp(next, record);
    return flipApp(this.host, { ...flip, deployment: this.deployment.id }, save, this.deps.log, this.deps.now());
  }

  private async setEnv(color: Color, state: 'ready' | 'failed'): Promise<null> {
    await this.saveApp(withEnvState(this.host.record, color, state, this.deps.now()));
    return null;
  }

  /** Stores the deployment; a phase change is also emitted as an event. */
  private async record(next: DeploymentRecord, phaseChanged = true): Promise<void> {
    this.deployment = next;
    await this.host.persist(next);
    if (phaseChanged) this.announce(next);
  }

  /** Emits an event for each of `next`'s phases from index `from` up to `to` (its latest, by default). */
  private announce(next: DeploymentRecord, from = next.phases.length - 1, to = next.phases.length): void {
    for (const entry of next.phases.slice(from, to)) {
      this.host.emit({ type: 'deployment', app: next.app, deployment: next.id, version: next.version, color: next.color, phase: entry.phase, message: entry.message ?? null, metrics: next.metrics });
    }
    if (to === next.phases.length && next.phase === 'failed') this.deps.log.warn({ app: next.app, deployment: next.id, version: next.version }, `deployment failed: ${next.reason}`);
  }

  private readonly logError = (err: unknown): void => {
    this.deps.log.error({ app: this.deployment.app, deployment: this.deployment.id, err }, 'deployment event failed');
  };
}

function figuresOf(j: Judgement): Record<string, number> {
  return j.verdict === 'wait' ? { ...metricsOf(j.figures), judged: 0 } : metricsOf(j.figures);
}

function prefixed(prefix: string, figures: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(figures)) if (typeof v === 'number') out[prefix + k[0]!.toUpperCase() + k.slice(1)] = v;
  return out;
}

function unprefixed(prefix: string, metrics: Readonly<Record<string, number>>) {
  const get = (name: string) => metrics[prefix + name[0]!.toUpperCase() + name.slice(1)] ?? null;
  return {
    requests: get('requests') ?? 0,
    errors5xx: get('errors5xx') ?? 0,
    errorRate: get('errorRate') ?? 0,
    p50Ms: get('p50Ms'),
    p90Ms: get('p90Ms'),
    p99Ms: get('p99Ms'),
    rps: get('rps') ?? 0,
  };
}

/**
 * The instances that ended on their own, for a failed health gate: a check's "connection refused" does not say the
 * process behind it exited. Empty when none did.
 */
function exitsOf(instances: readonly InstanceDescription[]): string {
  const ended = instances.filter((i) => i.lastExit !== null);
  if (ended.length === 0) return '';
  const each = ended.map((i) => `${i.url} ${i.lastExit} (${i.restarts} restart${i.restarts === 1 ? '' : 's'}, now ${i.state})`);
  return `; ${ended.length} of ${instances.length} instance${instances.length === 1 ? '' : 's'} exited: ${each.join(', ')}; see \`cutover logs\``;
}

import type { AppConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import {
  BadRequestError, BusyError, CutoverError, NotFoundError, NotHealthyError, RevisionConflictError, StateConflictError,
} from '../core/errors.ts';
import type { EventInput, EventSink } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { ANALYSIS_FAILED, newAppRecord, otherColor, type AppRecord, type Color, type DeploymentPhase, type DeploymentRecord } from '../core/types.ts';
import type { EnvironmentDriver } from '../drivers/environment-driver.ts';
import type { HealthView } from '../health/health-view.ts';
import type { StateStore } from '../store/state-store.ts';
import { flipTarget, pausedUntilOf, withEnv, withEnvState, withPause } from './app-state.ts';
import { flipApp } from './flip.ts';
import { enterPhase } from './deployment.ts';
import type { DeploymentEvent } from './deployment-machine.ts';
import { DeploymentRun, type RunDeps, type RunHost } from './deployment-run.ts';
import { HookRunner } from './hooks.ts';
import { OperationLock } from './operation-lock.ts';
import { rebase } from './record-rebase.ts';
import { interruptedDeployments, restoreApp, settleApp } from './recovery.ts';
import { startDeployment } from './start-deployment.ts';
import type { PreviewRoute } from './verifier.ts';
import { WebhookSender } from './webhooks.ts';

/** Told after every stored change of an app (and every pause or resume), so the route table can be rebuilt. */
export interface AppChangeListener {
  /** Resolves once the new route table is applied everywhere (every data-path worker). */
  onAppChanged(app: AppRecord): void | Promise<void>;
}

export interface AppControllerOptions {
  readonly config: AppConfig;
  readonly store: StateStore;
  readonly health: HealthView;
  readonly driver: EnvironmentDriver;
  readonly stats: RunDeps['stats'];
  /** How verification reaches the candidate through cutover itself; null without preview. */
  readonly previewRoute: (app: string) => PreviewRoute | null;
  readonly listener: AppChangeListener;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface DeployRequest {
  readonly version: string;
  readonly targets: readonly string[];
  /** Stop at `ready` even when the app switches automatically. */
  readonly noSwitch: boolean;
  /** Switch once ready even with `switch: manual` (a rollback that redeploys the retired version). */
  readonly forceSwitch?: boolean;
  readonly who: string;
}

export interface FlipRequest {
  readonly force: boolean;
  readonly who: string;
  /**
   * When the call was sent (its arrival, performance.now()): a flip is relative to what is live, so one that another
   * flip overtook after this is refused rather than undoing it. Default: when the call starts.
   */
  readonly arrivedAt?: number;
  /** What the caller saw live (the CLI and the dashboard send it): refused if it is no longer so. */
  readonly from?: Color | null;
  /**
   * The version the caller means to make live (the candidate it saw, or the standby): refused if the environment
   * the flip goes to now runs another, e.g. one deployed there while a confirmation dialog was open.
   */
  readonly version?: string;
}

export const DEFAULT_PAUSE_MS = 30_000;
export const MAX_PAUSE_MS = 10 * 60_000;
const WEBHOOK_FLUSH_MS = 5_000;
const VERDICT_RETRY_MS = 50;
/**
 * How long a control call waits for the app's lock while the current deployment is at rest (ended, watching, or
 * ready for a switch it will not make itself) and what holds the lock only finishes up: the deployment's hooks and
 * bookkeeping, or a short operation (a switch, a rollback) started just before. A deployment still on its way is
 * refused as BUSY at once.
 */
export const FINISHING_WAIT_MS = 5_000;
/** How long a stop or a recovery waits for the operation in progress. */
const LOCK_FREE_MS = 30_000;

const DEFAULT_INTERRUPTION = 'a restart of cutover';

/**
 * The control operations of one app: deploy to the candidate environment, switch, roll back, pause. Every change is
 * stored before it takes effect (the route table is rebuilt only from stored records) and emitted as an event.
 */
export class AppController implements RunHost {
  current: DeploymentRun | null = null;
  private appRecord: AppRecord;
  private appConfig: AppConfig;
  private readonly lock: OperationLock;
  private readonly stopping = new AbortController();
  private readonly retireTimers = new Map<Color, NodeJS.Timeout>();
  /** Ends the stored pause at its time, where this app's operations run (see `settle`). */
  private pauseTimer: NodeJS.Timeout | null = null;
  /** When what is live last changed here (performance.now()): at the commit of a flip, or a newer record adopted. */
  private liveChangedAt = -Infinity;
  private hooks: HookRunner;
  private webhooks: WebhookSender;

  private constructor(readonly options: AppControllerOptions, record: AppRecord) {
    this.appRecord = record;
    this.appConfig = options.config;
    this.lock = new OperationLock(options.config.name);
    this.hooks = this.newHookRunner(options.config);
    this.webhooks = new WebhookSender({ ...options.config.webhooks, log: options.log });
  }

  /** Loads the app (creating it on first sight), brings its environments back through the driver, settles deployments. */
  static async open(options: AppControllerOptions): Promise<AppController> {
    const { store, config, clock } = options;
    const stored = (await store.getApp(config.name)) ?? (await createApp(store, newAppRecord(config.name, clock.now())));
    const controller = new AppController(options, stored);
    await restoreApp(controller);
    return controller;
  }

  /**
   * Resumes or fails what a restart interrupted (or, with several instances, what the instance that ran this app
   * before was doing when it died: `interruption` says which); holds the app's lock meanwhile (only if there is
   * anything).
   */
  async settle(interruption = DEFAULT_INTERRUPTION): Promise<void> {
    // A pause stored before the restart (or by the instance that ran the app before) ends here at its time.
    this.timePause();
    // Nothing interrupted: no lock, so a deploy sent right after start is not refused as busy. A deployment this
    // process started meanwhile is never taken for an interrupted one (settleApp leaves it alone).
    if ((await interruptedDeployments(this)).length === 0) return settleApp(this, interruption);
    await this.lockFree();
    const release = this.lock.acquire(`the recovery after ${interruption}`);
    try {
      await settleApp(this, interruption);
    } finally {
      release();
    }
  }

  get name(): string {
    return this.appConfig.name;
  }

  get state(): AppRecord {
    return this.appRecord;
  }

  get record(): AppRecord {
    return this.appRecord;
  }

  get config(): AppConfig {
    return this.appConfig;
  }

  get busyWith(): string | null {
    return this.lock.busyWith ?? (this.watching() ? `the bake of ${this.current!.deployment.version}` : null);
  }

  get pausedUntil(): number | null {
    return pausedUntilOf(this.appRecord, this.options.clock.now());
  }

  get runDeps(): RunDeps {
    const { driver, health, stats, previewRoute, clock, log } = this.options;
    return { driver, health, stats, hooks: this.hooks, preview: () => previewRoute(this.name), now: clock.now, log, signal: this.stopping.signal };
  }

  history(limit: number): Promise<DeploymentRecord[]> {
    return this.options.store.listDeployments(this.name, limit);
  }

  async deployment(id: string): Promise<DeploymentRecord> {
    const found = await this.options.store.getDeployment(id);
    if (found === null || found.app !== this.name) throw new NotFoundError(`app "${this.name}" has no deployment ${id}`);
    return found;
  }

  /** Starts a deployment; resolves once it is stored, with `done` settling when it is ready, watched or ended. */
  async deploy(req: DeployRequest): Promise<{ deployment: DeploymentRecord; done: Promise<DeploymentRecord> }> {
    validateDeploy(req, this.options.driver.kind);
    this.refuseWhileWatching();
    await this.whenFinished();
    this.refuseWhileWatching();
    const release = this.lock.acquire(`the deployment of ${req.version}`);
    try {
      const { run, started } = await startDeployment(this, req);
      const done = started
        .catch((err) => this.options.log.error({ app: this.name, deployment: run.deployment.id, err }, 'deployment stopped on an error'))
        .then(() => run.deployment)
        .finally(release);
      return { deployment: run.deployment, done };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Makes the ready candidate live: a deployment's, or after a rollback the version it replaced (its deployment is
   * taken up again, see switchBack). Never the standby: going back is a rollback.
   */
  async switch(req: FlipRequest): Promise<AppRecord> {
    const arrivedAt = req.arrivedAt ?? performance.now();
    const release = await this.lockForFlip('a switch');
    try {
      this.refuseOvertaken('switch', arrivedAt, req.from);
      this.refuseWhileWatching();
      const color = this.flipColor('NO_CANDIDATE', 'there is no candidate environment ready to switch to');
      this.requireVersion(color, req.version, 'the candidate');
      this.requireHealthy(color, req.force, 'switch');
      const run = this.current;
      if (run?.open && run.deployment.phase === 'ready' && run.deployment.color === color) {
        await run.dispatch({ type: 'switch', who: req.who });
        if ((run.deployment.phase as DeploymentPhase) === 'failed') throw new CutoverError('SWITCH_ABORTED', 409, `the switch was aborted: ${run.deployment.reason}`);
      } else {
        const back = await this.switchBack(color);
        if (back !== null) {
          this.current = back;
          await back.dispatch({ type: 'switch', who: req.who });
        } else {
          const history = await this.latestOf(color, 'done', `switched back by ${req.who}`);
          await this.manualFlip(color, 'standby', 'switch', req.who, history);
        }
      }
      return this.appRecord;
    } finally {
      release();
    }
  }

  /** Makes the standby environment live again; after its retirement, redeploys its version through the driver. */
  async rollback(req: FlipRequest): Promise<AppRecord> {
    const arrivedAt = req.arrivedAt ?? performance.now();
    const release = await this.lockForFlip('a rollback');
    try {
      this.refuseOvertaken('rollback', arrivedAt, req.from);
      const live = this.appRecord.live;
      if (live === null) throw new StateConflictError('NO_STANDBY', 'nothing is live, so there is nothing to roll back');
      const standby = this.appRecord.envs[otherColor(live)];
      if (standby.state === 'retired' && standby.version !== null) {
        this.requireVersion(otherColor(live), req.version, 'the standby');
        // A deployment of its own, which takes the lock as deployments do.
        release();
        return await this.redeployRetired(standby.version, standby.targets, req.who);
      }
      const color = this.flipColor('NO_STANDBY', 'there is no standby environment to roll back to', 'rollback');
      this.requireVersion(color, req.version, 'the standby');
      this.requireHealthy(color, req.force, 'roll back');
      const run = await this.runToRollBack(live);
      if (run !== null) await run.dispatch({ type: 'rollback', who: req.who });
      else {
        const history = await this.latestOf(live, 'rolled-back', `rolled back by ${req.who}`);
        await this.manualFlip(color, 'ready', 'rollback', req.who, history);
      }
      return this.appRecord;
    } finally {
      release();
    }
  }

  /**
   * An analysis verdict for the deployment being watched. It takes the app's lock like any control operation, so a
   * verdict and an operator's rollback never run at once; it waits while another operation holds the lock.
   */
  async verdict(run: DeploymentRun, event: DeploymentEvent): Promise<void> {
    for (;;) {
      if (this.current !== run || !this.watching()) return;
      try {
        const release = this.lock.acquire(event.type === 'breach' ? 'the automatic rollback' : 'the end of the bake');
        try {
          return await run.dispatch(event);
        } finally {
          release();
        }
      } catch (err) {
        if (!(err instanceof BusyError)) throw err;
        await new Promise((r) => setTimeout(r, VERDICT_RETRY_MS));
      }
    }
  }

  /**
   * Holds new requests for up to `maxMs` (or until `resume`), e.g. for a migration that needs a quiet moment. The
   * pause is stored with the app: every instance sharing the store holds them, and so does a restarted cutover.
   */
  async pauseTraffic(maxMs: number, who: string): Promise<number> {
    if (!(maxMs > 0) || maxMs > MAX_PAUSE_MS) throw new BadRequestError(`a pause lasts more than 0 and at most ${MAX_PAUSE_MS / 60_000} minutes`);
    const until = this.options.clock.now() + maxMs;
    await this.saveLatest((app) => withPause(app, until));
    this.timePause();
    this.emit({ type: 'pause', app: this.name, until, who });
    return until;
  }

  async resumeTraffic(who: string): Promise<void> {
    if (this.pausedUntil === null) throw new StateConflictError('NOT_PAUSED', `app "${this.name}" is not paused`);
    await this.endPause(who);
  }

  private async endPause(who: string): Promise<void> {
    await this.saveLatest((app) => withPause(app, null));
    this.timePause();
    this.emit({ type: 'resume', app: this.name, who });
  }

  /**
   * Arms the end of the stored pause here, where the app's operations run (or disarms it): at its time the pause is
   * stored as ended, and announced. The data paths release what they hold at that time by themselves.
   */
  private timePause(): void {
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    const until = this.pausedUntil;
    if (until === null) return;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      // Unless another pause or a resume replaced this one meanwhile (another instance's, on a shared store).
      if ((this.appRecord.pausedUntil ?? null) !== until) return;
      this.endPause('the pause timer').catch((err) => this.options.log.warn({ app: this.name, err }, 'could not store the end of the pause'));
    }, until - this.options.clock.now());
    this.pauseTimer.unref();
  }

  /** Saves `change` of the latest record; when another write came first and touched the same part, once more from that one. */
  private async saveLatest(change: (app: AppRecord) => AppRecord): Promise<void> {
    try {
      await this.save(change(this.appRecord));
    } catch (err) {
      if (!(err instanceof RevisionConflictError)) throw err;
      // save() has taken the newer record.
      await this.save(change(this.appRecord));
    }
  }

  /**
   * Ends a deployment in progress (recorded as failed, live untouched, `why` as its reason), timers and webhook
   * deliveries.
   */
  async stop(why = 'cutover was stopped'): Promise<void> {
    this.stopping.abort(new Error(why));
    this.current?.stopWatching();
    for (const timer of this.retireTimers.values()) clearTimeout(timer);
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    await this.lockFree();
    // A webhook URL that is down must not hold the shutdown up for its whole retry budget.
    await Promise.race([this.webhooks.flush(), new Promise((r) => setTimeout(r, WEBHOOK_FLUSH_MS).unref())]);
  }

  reconfigure(config: AppConfig): void {
    this.appConfig = config;
    this.hooks = this.newHookRunner(config);
    this.webhooks = new WebhookSender({ ...config.webhooks, log: this.options.log });
  }

  // RunHost: what a deployment needs from its app.

  /**
   * Stores `next`, computed from the record held now. When another write came first (another instance's on a shared
   * store, or a pause during a deployment's step), the change is carried onto the newer record if the two touched
   * different parts of it (see rebase); otherwise the REVISION_CONFLICT reaches the caller.
   */
  async save(next: AppRecord, deployment?: DeploymentRecord): Promise<void> {
    const base = this.appRecord;
    // Computed from an older record than the one held (a newer one came meanwhile): what it was computed from is gone,
    // so it can neither be stored over the newer one nor carried onto it.
    if (next.revision !== base.revision) throw new RevisionConflictError(`app "${this.name}"`, next.revision, base.revision);
    try {
      await this.write(next, deployment);
    } catch (err) {
      // write() has taken the newer record.
      const merged = err instanceof RevisionConflictError ? rebase(base, next, this.appRecord) : null;
      if (merged === null) throw err;
      await this.write(merged, deployment);
    }
  }

  private async write(next: AppRecord, deployment?: DeploymentRecord): Promise<void> {
    // Set in the callback: whether this write was committed, and the route table's change (awaited after).
    let committed = false as boolean;
    let applied: void | Promise<void> = undefined;
    try {
      // The route table follows as soon as the write is committed, while the store flushes it to disk. The record
      // is taken there and only there: a save that starts during the flush commits a newer one, which the end of
      // this one's flush must not put back.
      const onCommitted = (stored: AppRecord) => {
        // A newer record may have been adopted meanwhile (another instance's write, seen on a shared store).
        if (stored.revision <= this.appRecord.revision) return;
        committed = true;
        this.take(stored);
        applied = this.options.listener.onAppChanged(stored);
      };
      await this.options.store.putApp(next, this.appRecord.revision, { onCommitted, ...(deployment === undefined ? {} : { deployment }) });
    } catch (err) {
      // Another writer came first (another instance, with a shared store): take what it wrote, so the caller's
      // next attempt starts from it, and let the REVISION_CONFLICT reach the caller.
      if (err instanceof RevisionConflictError) await this.refresh();
      if (!committed) throw err;
      // Committed and applied, but the disk refused the flush: traffic already follows the change, so the caller
      // must not take it as not done (a deployment would fail and stop what is now live). The store refuses every
      // write from now on, before committing it, and the caller's next one says so.
      this.options.log.error({ app: this.name, err }, 'a change of the app is in effect but may not be on disk; the state store takes no more writes: restart cutover');
    }
    // A switch returns only once every data-path worker routes by the new table.
    await applied;
  }

  /**
   * A newer record of this app, written elsewhere (another instance sharing the store): it replaces the one held
   * here, and the route table follows. An older or equal revision is one this controller already has.
   */
  adopt(record: AppRecord): void {
    if (record.name !== this.name || record.revision <= this.appRecord.revision) return;
    this.take(record);
    this.options.listener.onAppChanged(record);
  }

  private take(record: AppRecord): void {
    if (record.live !== this.appRecord.live) this.liveChangedAt = performance.now();
    this.appRecord = record;
  }

  /** Re-reads the stored record and adopts it if it is newer. */
  async refresh(): Promise<void> {
    const stored = await this.options.store.getApp(this.name);
    if (stored !== null) this.adopt(stored);
  }

  persist(deployment: DeploymentRecord): Promise<void> {
    return this.options.store.putDeployment(deployment);
  }

  emit(event: EventInput): void {
    this.options.events.emit(event);
    if (this.appConfig.webhooks.urls.length > 0) this.webhooks.send({ ...event, at: event.at ?? this.options.clock.now() });
  }

  /** Retires `color` after `standby` unless it becomes live or is deployed to first. */
  scheduleRetire(color: Color, delayMs = this.appConfig.standbyMs): void {
    this.cancelRetire(color);
    const timer = setTimeout(() => void this.retire(color), Math.max(0, delayMs));
    timer.unref();
    this.retireTimers.set(color, timer);
  }

  cancelRetire(color: Color): void {
    clearTimeout(this.retireTimers.get(color));
    this.retireTimers.delete(color);
  }

  private async retire(color: Color): Promise<void> {
    this.retireTimers.delete(color);
    const env = this.appRecord.envs[color];
    const deploying = this.current?.open && this.current.deployment.color === color;
    // During a bake the standby is what a failed verdict rolls back to: it stays until the bake ends.
    if (this.watching()) return this.scheduleRetire(color, 1_000);
    if (this.appRecord.live === color || deploying || (env.state !== 'standby' && env.state !== 'ready')) return;
    let release: () => void;
    try {
      release = this.lock.acquire(`the retirement of ${color}`);
    } catch {
      return this.scheduleRetire(color, 1_000);
    }
    try {
      await this.options.driver.stop(this.name, color);
      await this.save(withEnv(this.appRecord, color, { state: 'retired' }, this.options.clock.now()));
      this.options.log.info({ app: this.name, env: color, version: env.version }, `standby ${color} retired`);
      this.emit({ type: 'retire', app: this.name, env: color, version: env.version });
    } catch (err) {
      this.options.log.error({ app: this.name, env: color, err }, 'could not retire the standby environment');
    } finally {
      release();
    }
  }

  private async redeployRetired(version: string, targets: readonly string[], who: string): Promise<AppRecord> {
    const targetsToUse = this.options.driver.kind === 'static' ? targets : [];
    const { done } = await this.deploy({ version, targets: targetsToUse, noSwitch: false, forceSwitch: true, who: `${who} (rollback)` });
    const d = await done;
    if (d.phase === 'failed') throw new CutoverError('ROLLBACK_FAILED', 500, `redeploying ${version} failed: ${d.reason}`);
    // A rollback leaves the version it replaced a candidate (`ready`), which `cutover switch` makes live again.
    const left = otherColor(d.color);
    if (this.appRecord.live === d.color && this.appRecord.envs[left].state === 'standby') {
      await this.save(withEnvState(this.appRecord, left, 'ready', this.options.clock.now()));
    }
    return this.appRecord;
  }

  /** The deployment a rollback belongs to: the one watching, or the latest done one of the live environment. */
  private async runToRollBack(live: Color): Promise<DeploymentRun | null> {
    if (this.watching() && this.current!.deployment.color === live) return this.current;
    const [latest] = await this.options.store.listDeployments(this.name, 1);
    if (latest === undefined || latest.phase !== 'done' || latest.color !== live) return null;
    return new DeploymentRun(this, this.runDeps, latest, false);
  }

  /**
   * The deployment a switch to `color` takes up again: the latest one, rolled back by hand, whose version `color`
   * still runs. Null when the latest deployment is another.
   */
  private async switchBack(color: Color): Promise<DeploymentRun | null> {
    const [latest] = await this.options.store.listDeployments(this.name, 1);
    if (latest === undefined || latest.color !== color || latest.phase !== 'rolled-back') return null;
    if (this.appRecord.envs[color].version !== latest.version) return null;
    // Its analysis stops such a version; one still running (its stop failed) is not made live again by a switch.
    if (latest.reason?.startsWith(ANALYSIS_FAILED) === true) {
      throw new StateConflictError('ANALYSIS_REJECTED', `app "${this.name}": ${latest.version} was rolled back by its analysis (${latest.reason}); deploy it again to make it live`);
    }
    return new DeploymentRun(this, this.runDeps, latest, false);
  }

  /** Flips live to `color`, storing `history` (the deployment it annotates, if any) in the same commit. */
  private async manualFlip(color: Color, leftAs: 'standby' | 'ready', action: 'switch' | 'rollback', who: string, history: DeploymentRecord | null): Promise<void> {
    const from = this.appRecord.live;
    const save = (next: AppRecord) => this.save(next, history ?? undefined);
    await flipApp(this, { to: color, leftAs, action, who }, save, this.options.log, this.options.clock.now());
    if (from !== null) this.scheduleRetire(from);
    if (history === null) return;
    const { id, version: v, phase, phases } = history;
    this.emit({ type: 'deployment', app: this.name, deployment: id, version: v, color: history.color, phase, message: phases.at(-1)?.message ?? null });
  }

  /** The latest deployment, if it is of `color`, as a manual flip records it in history: entering `phase`. */
  private async latestOf(color: Color, phase: DeploymentPhase, message: string): Promise<DeploymentRecord | null> {
    const [latest] = await this.options.store.listDeployments(this.name, 1);
    if (latest === undefined || latest.color !== color) return null;
    return enterPhase(latest, phase, this.options.clock.now(), message);
  }

  private flipColor(code: string, message: string, action: 'switch' | 'rollback' = 'switch'): Color {
    const color = flipTarget(this.appRecord, action);
    if (color === null) throw new StateConflictError(code, `app "${this.name}": ${message}`);
    return color;
  }

  /** `expected`: the version the caller means to make live (undefined: any). */
  private requireVersion(color: Color, expected: string | undefined, role: string): void {
    const actual = this.appRecord.envs[color].version;
    if (expected === undefined || actual === expected) return;
    throw new StateConflictError('VERSION_CHANGED', `app "${this.name}": ${role} on ${color} is ${actual ?? 'nothing'} now, not ${expected}; nothing was done`);
  }

  private requireHealthy(color: Color, force: boolean, verb: string): void {
    const env = this.appRecord.envs[color];
    const sick = env.targets.filter((url) => !this.options.health.isHealthy(this.name, color, url));
    if (sick.length === 0 || force) return;
    throw new NotHealthyError(`refusing to ${verb} to ${color}: ${sick.join(', ')} not healthy (use --force to override)`);
  }

  private watching(): boolean {
    return this.current !== null && this.current.open && this.current.deployment.phase === 'watching';
  }

  private refuseWhileWatching(): void {
    if (this.watching()) throw new BusyError(this.name, `the bake of ${this.current!.deployment.version}`, 'roll back, or wait for the bake to end');
  }

  /** Waits (up to FINISHING_WAIT_MS) for the lock when what holds it is a deployment that only finishes up. */
  private async whenFinished(): Promise<void> {
    if (this.lock.busyWith === null || this.current?.atRest !== true) return;
    await this.lock.whenFree(FINISHING_WAIT_MS);
  }

  /**
   * The lock, for a switch or a rollback. Another flip holds it for milliseconds: this one waits for it (up to
   * FINISHING_WAIT_MS) and then judges what is live after it, so two sent at once give one flip and one
   * LIVE_CHANGED, not a BUSY that depends on which arrived in which turn of the event loop.
   */
  private async lockForFlip(flip: string): Promise<() => void> {
    const until = Date.now() + FINISHING_WAIT_MS;
    for (;;) {
      await this.whenFinished();
      if (!this.lock.heldBriefly || Date.now() >= until) return this.lock.acquire(flip, { brief: true });
      await this.lock.whenFree(until - Date.now());
    }
  }

  /**
   * A switch or a rollback is relative to what is live: one sent before another flip changed it (two sent together,
   * or one sent during an automatic switch) would undo that flip, so it is refused instead. Known when the caller
   * says what it saw live (`from`), or when the change was committed after the call arrived.
   */
  private refuseOvertaken(flip: 'switch' | 'rollback', arrivedAt: number, from: Color | null | undefined): void {
    const now = this.appRecord.live ?? 'nothing';
    const again = `nothing was done (send it again to ${flip} from there)`;
    if (from !== undefined) {
      if (this.appRecord.live === from) return;
      throw new StateConflictError('LIVE_CHANGED', `app "${this.name}": ${from ?? 'nothing'} is no longer live (${now} is); ${again}`);
    }
    if (this.liveChangedAt <= arrivedAt) return;
    throw new StateConflictError('LIVE_CHANGED', `app "${this.name}": ${now} became live after this ${flip} was sent; ${again}`);
  }

  /** Waits up to 30 s for the lock to be free (another may take it as it is released: then on). */
  private async lockFree(): Promise<void> {
    const until = Date.now() + LOCK_FREE_MS;
    while (this.lock.busyWith !== null && Date.now() < until) await this.lock.whenFree(until - Date.now());
  }

  private newHookRunner(config: AppConfig): HookRunner {
    return new HookRunner(config.hooks, { log: this.options.log, signal: this.stopping.signal });
  }
}

/** Stores a new app; when another instance stored it first (both started at once), theirs is the one. */
async function createApp(store: StateStore, record: AppRecord): Promise<AppRecord> {
  try {
    return await store.putApp(record, 0);
  } catch (err) {
    const stored = err instanceof RevisionConflictError ? await store.getApp(record.name) : null;
    if (stored === null) throw err;
    return stored;
  }
}

function validateDeploy(req: DeployRequest, driver: EnvironmentDriver['kind']): void {
  // The version names a release folder (`cwd: ./releases/{{version}}`), so "." and ".." must not pass.
  if (!/^[\w.+-]{1,128}$/.test(req.version) || /^\.+$/.test(req.version)) {
    throw new BadRequestError('version must be 1–128 letters, digits, dots, dashes, pluses or underscores, and not only dots');
  }
  if (driver !== 'static') {
    if (req.targets.length > 0) throw new BadRequestError(`this app's ${driver} driver starts its own targets; "targets" is only for static apps`);
    return;
  }
  if (req.targets.length === 0) throw new BadRequestError('a static app needs at least one target URL in "targets"');
  for (const url of req.targets) {
    if (!isOrigin(url)) throw new BadRequestError(`target "${url}" is not an http:// origin like http://127.0.0.1:3000`);
  }
  if (new Set(req.targets).size !== req.targets.length) throw new BadRequestError('the same target is given twice');
}

function isOrigin(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && u.origin === url.replace(/\/$/, '') && u.port !== '';
  } catch {
    return false;
  }
}

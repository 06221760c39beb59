import type { AppConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { BadRequestError, NotFoundError, NotHealthyError, StateConflictError, toCutoverError } from '../core/errors.ts';
import type { EventSink } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { newAppRecord, otherColor, type AppRecord, type Color, type DeploymentPhase, type DeploymentRecord } from '../core/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { flipLive, flipTarget, withEnv, withEnvState } from './app-state.ts';
import { enterPhase, isOpen, newDeployment } from './deployment.ts';
import type { HealthView } from '../health/health-view.ts';
import { OperationLock } from './operation-lock.ts';
import { waitForHealthy } from './wait-healthy.ts';

/** Told after every stored change of an app, so the route table can be rebuilt from it. */
export interface AppChangeListener {
  onAppChanged(app: AppRecord): void;
}

export interface AppControllerOptions {
  readonly config: AppConfig;
  readonly store: StateStore;
  readonly health: HealthView;
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
  readonly who: string;
}

export interface FlipRequest {
  readonly force: boolean;
  readonly who: string;
}

/**
 * The control operations of one app: deploy to the candidate environment, switch, roll back. Every change is
 * stored before it takes effect (the route table is rebuilt only from stored records) and emitted as an event.
 */
export class AppController {
  private record: AppRecord;
  private config: AppConfig;
  private readonly lock: OperationLock;
  private readonly stopping = new AbortController();
  private running: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: AppControllerOptions, record: AppRecord) {
    this.record = record;
    this.config = options.config;
    this.lock = new OperationLock(options.config.name);
  }

  /** Loads the app from the store (creating it on first sight) and settles deployments a restart interrupted. */
  static async open(options: AppControllerOptions): Promise<AppController> {
    const { store, config, clock } = options;
    const stored = (await store.getApp(config.name)) ?? (await store.putApp(newAppRecord(config.name, clock.now()), 0));
    const controller = new AppController(options, stored);
    await controller.recover();
    return controller;
  }

  get name(): string {
    return this.config.name;
  }

  get state(): AppRecord {
    return this.record;
  }

  get busyWith(): string | null {
    return this.lock.busyWith;
  }

  history(limit: number): Promise<DeploymentRecord[]> {
    return this.options.store.listDeployments(this.name, limit);
  }

  async deployment(id: string): Promise<DeploymentRecord> {
    const found = await this.options.store.getDeployment(id);
    if (found === null || found.app !== this.name) throw new NotFoundError(`app "${this.name}" has no deployment ${id}`);
    return found;
  }

  /** Ends a deployment in progress (recorded as failed, live untouched) and waits until that is stored. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  reconfigure(config: AppConfig): void {
    this.config = config;
  }

  /** Starts a deployment; resolves once it is stored, with `done` settling when it reaches ready or an end. */
  async deploy(req: DeployRequest): Promise<{ deployment: DeploymentRecord; done: Promise<DeploymentRecord> }> {
    validateDeploy(req);
    const release = this.lock.acquire(`the deployment of ${req.version}`);
    try {
      const deployment = await this.begin(req);
      const done = this.run(deployment, req).finally(release);
      this.running = done;
      return { deployment, done };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Makes the candidate (or, after a rollback, the environment left) live. */
  async switch(req: FlipRequest): Promise<AppRecord> {
    const release = this.lock.acquire('a switch');
    try {
      const color = this.flipColor('NO_CANDIDATE', 'there is no candidate environment ready to switch to');
      this.requireHealthy(color, req.force, 'switch');
      await this.flip(color, 'standby', 'switch', req.who);
      await this.settleDeploymentOf(color, 'done', `switched by ${req.who}`);
      return this.record;
    } finally {
      release();
    }
  }

  /** Makes the standby environment live again; the environment left stays ready for a later switch. */
  async rollback(req: FlipRequest): Promise<AppRecord> {
    const release = this.lock.acquire('a rollback');
    try {
      if (this.record.live === null) throw new StateConflictError('NO_STANDBY', 'nothing is live, so there is nothing to roll back');
      const left = this.record.live;
      const color = this.flipColor('NO_STANDBY', 'there is no standby environment to roll back to');
      this.requireHealthy(color, req.force, 'roll back');
      await this.flip(color, 'ready', 'rollback', req.who);
      await this.settleDeploymentOf(left, 'rolled-back', `rolled back by ${req.who}`);
      return this.record;
    } finally {
      release();
    }
  }

  private async begin(req: DeployRequest): Promise<DeploymentRecord> {
    const now = this.options.clock.now();
    const color: Color = this.record.live === null ? 'blue' : otherColor(this.record.live);
    await this.supersedeOpenDeployment(color);
    const live = this.record.live === null ? null : this.record.envs[this.record.live];
    const deployment = newDeployment({ ...req, app: this.name, color, previousVersion: live?.version ?? null, at: now });
    await this.options.store.putDeployment(deployment);
    this.emitPhase(deployment);
    await this.save(withEnv(this.record, color, { version: req.version, targets: req.targets, state: 'deploying' }, now));
    return deployment;
  }

  private async run(d: DeploymentRecord, req: DeployRequest): Promise<DeploymentRecord> {
    try {
      const { healthy, deadlineMs } = this.config.health;
      d = await this.phase(d, 'health-gate', `waiting for ${d.targets.length} target(s) to pass ${healthy} health checks in a row`);
      const problem = await waitForHealthy(this.options.health, this.name, d.color, d.targets, deadlineMs, this.stopping.signal);
      if (problem !== null) return await this.failDeployment(d, problem);
      d = await this.phase(d, 'ready', 'every target is healthy');
      await this.save(withEnvState(this.record, d.color, 'ready', this.options.clock.now()));
      if (req.noSwitch || this.config.switch === 'manual') return d;
      d = await this.phase(d, 'switching');
      await this.flip(d.color, 'standby', 'switch', req.who);
      return await this.phase(d, 'done', `${d.version} is live on ${d.color}`);
    } catch (err) {
      return this.failDeployment(d, toCutoverError(err).message).catch((storeErr) => {
        this.options.log.error({ app: this.name, deployment: d.id, err: storeErr }, 'could not record the failed deployment');
        return d;
      });
    }
  }

  private async failDeployment(d: DeploymentRecord, reason: string): Promise<DeploymentRecord> {
    const now = this.options.clock.now();
    if (this.record.live !== d.color && this.record.envs[d.color].state !== 'empty') {
      await this.save(withEnvState(this.record, d.color, 'failed', now));
    }
    this.options.log.warn({ app: this.name, deployment: d.id, version: d.version }, `deployment failed: ${reason}`);
    return this.phase(d, 'failed', reason);
  }

  private async flip(color: Color, leftAs: 'standby' | 'ready', action: 'switch' | 'rollback', who: string): Promise<void> {
    const from = this.record.live;
    await this.save(flipLive(this.record, color, leftAs, this.options.clock.now()));
    const version = this.record.envs[color].version;
    this.options.log.info({ app: this.name, from, to: color, version, who }, `${action}: ${color} is live`);
    this.options.events.emit({ type: action, app: this.name, from, to: color, version, who });
  }

  private flipColor(code: string, message: string): Color {
    const color = flipTarget(this.record);
    if (color === null) throw new StateConflictError(code, `app "${this.name}": ${message}`);
    return color;
  }

  private requireHealthy(color: Color, force: boolean, verb: string): void {
    const env = this.record.envs[color];
    const sick = env.targets.filter((url) => !this.options.health.isHealthy(this.name, color, url));
    if (sick.length === 0 || force) return;
    throw new NotHealthyError(`refusing to ${verb} to ${color}: ${sick.join(', ')} not healthy (use --force to override)`);
  }

  /** Records the outcome of a switch or rollback on the latest deployment of that environment. */
  private async settleDeploymentOf(color: Color, phase: 'done' | 'rolled-back', message: string): Promise<void> {
    const [latest] = await this.options.store.listDeployments(this.name, 1);
    if (latest === undefined || latest.color !== color) return;
    const d = phase === 'done' && latest.phase === 'ready' ? await this.phase(latest, 'switching') : latest;
    await this.phase(d, phase, message);
  }

  private async supersedeOpenDeployment(color: Color): Promise<void> {
    const [latest] = await this.options.store.listDeployments(this.name, 1);
    if (latest !== undefined && isOpen(latest) && latest.color === color) {
      await this.phase(latest, 'failed', 'superseded by a newer deployment');
    }
  }

  /** After a restart: a deployment caught mid-way is finished if its switch was stored, else failed cleanly. */
  private async recover(): Promise<void> {
    const open = (await this.options.store.listOpenDeployments()).filter((d) => d.app === this.name);
    for (const d of open) {
      if (d.phase === 'ready' && this.record.envs[d.color].state === 'ready') continue;
      if (this.record.live === d.color && this.record.envs[d.color].version === d.version) {
        await this.phase(d, 'done', 'completed after a restart of cutover');
      } else {
        await this.failDeployment(d, `interrupted by a restart of cutover during ${d.phase}`);
      }
    }
  }

  private async phase(d: DeploymentRecord, phase: DeploymentPhase, message?: string): Promise<DeploymentRecord> {
    const next = enterPhase(d, phase, this.options.clock.now(), message);
    await this.options.store.putDeployment(next);
    this.emitPhase(next);
    return next;
  }

  private emitPhase(d: DeploymentRecord): void {
    const last = d.phases[d.phases.length - 1]!;
    this.options.events.emit({
      type: 'deployment',
      app: this.name,
      deployment: d.id,
      version: d.version,
      color: d.color,
      phase: d.phase,
      message: last.message ?? null,
    });
  }

  private async save(next: AppRecord): Promise<void> {
    this.record = await this.options.store.putApp(next, this.record.revision);
    this.options.listener.onAppChanged(this.record);
  }
}

function validateDeploy(req: DeployRequest): void {
  if (!/^[\w.+-]{1,128}$/.test(req.version)) {
    throw new BadRequestError('version must be 1–128 letters, digits, dots, dashes, pluses or underscores');
  }
  if (req.targets.length === 0) throw new BadRequestError('a static app needs at least one target URL (--target)');
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

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessDriverConfig } from '../config/config.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { COLORS, type Color } from '../core/types.ts';
import { DriverError } from './driver-error.ts';
import type { DriverListener, EnvironmentDriver, InstanceDescription, LogLine, StartRequest } from './environment-driver.ts';
import { freePort, portIsFree } from './free-port.ts';
import { instanceSpec, type InstanceSpec } from './instance-spec.ts';
import { DEFAULT_RESTART_POLICY, Instance, type RestartPolicy } from './instance.ts';
import { LogBuffer } from './log-buffer.ts';
import { PidRecords, type PidRecord } from './pid-records.ts';
import { isSameProcess, terminateGroup } from './process-group.ts';

export interface ProcessDriverOptions {
  /** The one app this driver runs (its files live in `<stateDir>/<app>/`). */
  readonly app: string;
  readonly config: ProcessDriverConfig;
  /** A directory that outlives cutover's restarts: pid records and the instances' output files go here. */
  readonly stateDir: string;
  readonly listener: DriverListener;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly restart?: Partial<RestartPolicy>;
  /** Lines of output kept per environment for `logs()`. */
  readonly logLines?: number;
}

export const DEFAULT_LOG_LINES = 2_000;
const MAX_PORT_ATTEMPTS = 20;

/**
 * Runs `config.instances` copies of a command per environment, each on its own loopback port (`PORT`), in its own
 * process group. Restarts what crashes, records every process on disk, and after a cutover restart adopts what
 * still runs (`restore`) and kills what nobody claimed (`reapOrphans`).
 */
export class ProcessDriver implements EnvironmentDriver {
  readonly kind = 'process';
  private readonly envs = new Map<Color, Environment>();
  /** Environments being stopped: no longer described, still recorded until their processes are gone. */
  private readonly retiring = new Set<Environment>();
  private readonly buffers: Record<Color, LogBuffer>;
  private readonly followers = new Set<Follower>();
  private readonly records: PidRecords;
  private readonly restart: RestartPolicy;
  private readonly clock: Clock;
  private readonly dir: string;
  /** Records of the previous run that no restore has claimed yet. */
  private leftovers: PidRecord[];
  private closed = false;

  constructor(private readonly options: ProcessDriverOptions) {
    checkOptions(options);
    this.clock = options.clock ?? systemClock;
    this.restart = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    const lines = options.logLines ?? DEFAULT_LOG_LINES;
    this.buffers = { blue: new LogBuffer(lines), green: new LogBuffer(lines) };
    this.dir = join(options.stateDir, options.app);
    mkdirSync(this.dir, { recursive: true });
    this.records = new PidRecords(join(this.dir, 'processes.json'));
    this.leftovers = this.records.read((reason) => options.log.error({ path: this.records.path }, `cannot read the process records (${reason}); processes of the previous run may be left running`));
  }

  async start(request: StartRequest, signal: AbortSignal): Promise<string[]> {
    this.accept(request);
    signal.throwIfAborted();
    await this.stop(request.app, request.color);
    return this.bringUp(request, signal, async (index) => {
      const instance = this.launch(this.spec(request, index, await this.pickPort()));
      instance.start();
      return instance;
    });
  }

  async restore(request: StartRequest): Promise<string[]> {
    this.accept(request);
    const current = this.envs.get(request.color);
    if (current?.version === request.version) return urlsOf(current);
    await this.stop(request.app, request.color);
    return this.bringUp(request, null, (index) => this.restoreInstance(request, index));
  }

  async stop(app: string, color: Color): Promise<void> {
    const env = app === this.options.app ? this.envs.get(color) : undefined;
    if (env !== undefined) await this.stopEnvironment(color, env);
  }

  describe(app: string, color: Color): InstanceDescription[] {
    if (app !== this.options.app) return [];
    return this.envs.get(color)?.instances.map((instance) => instance.describe()) ?? [];
  }

  logs(app: string, color: Color): LogLine[] {
    return app === this.options.app ? this.buffers[color].lines() : [];
  }

  followLogs(app: string, color: Color | null, listener: (line: LogLine) => void): () => void {
    if (app !== this.options.app) return () => {};
    const follower = { color, listener };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(COLORS.map((color) => this.stop(this.options.app, color)));
  }

  /**
   * Kills every process recorded by the previous run that no `restore` of this run claimed, and forgets the
   * records of those already gone; resolves with how many it killed. Call it once, after every environment
   * of the app was restored: what it kills would otherwise run on unseen, holding ports and memory.
   */
  async reapOrphans(): Promise<number> {
    const orphans = this.leftovers.filter((r) => isSameProcess(r.pid, r.startTime));
    this.leftovers = [];
    for (const r of orphans) {
      this.options.log.warn({ pid: r.pid, color: r.color, version: r.version }, `stopping ${r.color}#${r.index} ${r.version} (pid ${r.pid}): left over from the previous run and not claimed`);
    }
    const grace = this.options.config.stopGraceMs;
    await Promise.all(orphans.map((r) => terminateGroup(r.pid, grace, () => !isSameProcess(r.pid, r.startTime))));
    this.persist();
    return orphans.length;
  }

  /**
   * Creates the environment's instances one by one. Whatever was created is stopped again when one fails, when
   * `signal` aborts, or when the environment was stopped or replaced meanwhile (a stop during a start).
   */
  private async bringUp(request: StartRequest, signal: AbortSignal | null, create: (index: number) => Promise<Instance>): Promise<string[]> {
    const env = this.newEnvironment(request);
    try {
      for (let index = 0; index < this.options.config.instances; index++) {
        env.instances.push(await create(index));
        signal?.throwIfAborted();
        if (this.closed || this.envs.get(request.color) !== env) throw new DriverError(`${request.color} of ${request.app} was stopped while it was being started`);
      }
    } catch (err) {
      await this.stopEnvironment(request.color, env);
      throw err;
    }
    this.persist();
    return urlsOf(env);
  }

  /** Takes the environment out at once (a start in progress sees that), and keeps its records until all exited. */
  private async stopEnvironment(color: Color, env: Environment): Promise<void> {
    if (this.envs.get(color) === env) this.envs.delete(color);
    this.retiring.add(env);
    await Promise.all(env.instances.map((instance) => instance.stop()));
    this.retiring.delete(env);
    this.persist();
  }

  private async restoreInstance(request: StartRequest, index: number): Promise<Instance> {
    const record = this.leftovers.find((r) => r.color === request.color && r.version === request.version && r.index === index) ?? null;
    const alive = record !== null && isSameProcess(record.pid, record.startTime);
    const port = alive ? record.port : await this.pickPort(record?.port);
    const instance = this.launch(this.spec(request, index, port));
    this.leftovers = this.leftovers.filter((r) => r !== record);
    if (alive) instance.adopt(record);
    else instance.start();
    return instance;
  }

  /**
   * `preferred` if it is free, else a free port. Ports this driver handed out are excluded even though they look
   * free: an instance spawned a moment ago may not be listening yet.
   */
  private async pickPort(preferred?: number): Promise<number> {
    const taken = new Set([...this.envs.values(), ...this.retiring].flatMap((env) => env.instances.map((i) => i.spec.port)));
    if (preferred !== undefined && !taken.has(preferred) && (await portIsFree(preferred))) return preferred;
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      if (!taken.has(port) || attempt >= MAX_PORT_ATTEMPTS) return port;
    }
  }

  private launch(spec: InstanceSpec): Instance {
    const { color, index, url } = spec;
    const app = this.options.app;
    return new Instance({
      spec,
      stopGraceMs: this.options.config.stopGraceMs,
      restart: this.restart,
      clock: this.clock,
      log: this.options.log.child({ app, color, instance: index }),
      listener: {
        onEvent: (kind, detail) => this.options.listener.onInstanceEvent({ app, color, url, kind, detail }),
        onLine: (stream, text, written) => this.addLine({ at: this.clock.now(), written, color, instance: index, stream, text }),
        onProcessChange: () => this.persist(),
      },
    });
  }

  private spec(request: StartRequest, index: number, port: number): InstanceSpec {
    const { app, color, version } = request;
    return instanceSpec(this.options.config, { app, color, version, index, port, outputDir: this.dir });
  }

  private newEnvironment(request: StartRequest): Environment {
    const env = { version: request.version, instances: [] };
    this.envs.set(request.color, env);
    return env;
  }

  private addLine(line: LogLine): void {
    this.buffers[line.color].push(line);
    for (const f of this.followers) {
      if (f.color !== null && f.color !== line.color) continue;
      try {
        f.listener(line);
      } catch (err) {
        this.options.log.warn({ err }, 'a log follower threw; it was removed');
        this.followers.delete(f);
      }
    }
  }

  /** Rewrites the records: what the previous run left unclaimed plus every process running now. */
  private persist(): void {
    const current = [...this.envs.values(), ...this.retiring].flatMap((env) => env.instances.map((i) => i.record()));
    const records = [...this.leftovers, ...current.filter((r) => r !== null)];
    try {
      this.records.write(records);
    } catch (err) {
      this.options.log.error({ err, path: this.records.path }, `cannot write the process records; a cutover restart may leave these processes unmanaged: ${(err as Error).message}`);
    }
  }

  private accept(request: StartRequest): void {
    if (this.closed) throw new DriverError('the process driver is closed (cutover is shutting down)');
    if (request.app !== this.options.app) throw new DriverError(`this process driver runs app "${this.options.app}", not "${request.app}"`);
  }
}

interface Environment {
  readonly version: string;
  readonly instances: Instance[];
}

interface Follower {
  readonly color: Color | null;
  readonly listener: (line: LogLine) => void;
}

function urlsOf(env: Environment): string[] {
  return env.instances.map((instance) => instance.spec.url);
}

function checkOptions({ app, config }: ProcessDriverOptions): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(app)) throw new DriverError(`ProcessDriver: app must be an app name (lower-case letters, digits, dashes), got "${app}"`);
  if (!Number.isInteger(config.instances) || config.instances < 1) throw new DriverError(`ProcessDriver: config.instances must be a whole number ≥ 1, got ${config.instances}`);
  if (!(config.stopGraceMs >= 0)) throw new DriverError(`ProcessDriver: config.stopGraceMs must be ≥ 0, got ${config.stopGraceMs}`);
  if (config.command.trim() === '') throw new DriverError('ProcessDriver: config.command must not be empty');
}

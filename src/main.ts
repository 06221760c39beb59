// The composition root: the one place that picks the store, builds the layers and wires their listeners.
import pino from 'pino';
import { AdminServer } from './admin/admin-server.ts';
import type { Config } from './config/config.ts';
import { loadConfig } from './config/load.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { EventHub } from './core/events.ts';
import type { Logger } from './core/logger.ts';
import { Controller } from './deploy/controller.ts';
import { TargetRegistry } from './pool/target-registry.ts';
import type { Target, TargetListener } from './pool/target.ts';
import { DriverFactory } from './drivers/driver-factory.ts';
import type { DriverListener, InstanceEvent } from './drivers/environment-driver.ts';
import { DataPath } from './proxy/data-path.ts';
import { Listeners } from './proxy/listeners.ts';
import { StatsRegistry } from './stats/stats-registry.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import type { StateStore } from './store/state-store.ts';

export interface CutoverOptions {
  readonly config: Config;
  readonly log?: Logger;
  readonly clock?: Clock;
}

export interface ReloadOutcome {
  readonly added: string[];
  readonly removed: string[];
  /** Settings that changed in the file but only take effect at the next start. */
  readonly needsRestart: string[];
}

/** A running cutover: store, targets, controller, proxy and admin API, started in the order that loses nothing. */
export class Cutover {
  readonly admin: AdminServer;

  private constructor(
    private readonly settings: { config: Config },
    readonly log: Logger,
    readonly events: EventHub,
    readonly store: StateStore,
    readonly registry: TargetRegistry,
    readonly dataPath: DataPath,
    readonly listeners: Listeners,
    readonly controller: Controller,
    readonly drivers: DriverFactory,
  ) {
    this.admin = new AdminServer({
      config: settings.config.admin,
      controller,
      targets: registry,
      events,
      log: log.child({ part: 'admin' }),
      reload: () => this.reload(),
      held: (app) => dataPath.held(app),
    });
  }

  /**
   * Restores the route table from the store, brings the environments back through their drivers and starts health
   * checks before the public listener accepts its first connection, so a restart (also after kill -9) serves the
   * same live environment at once.
   */
  static async start(options: CutoverOptions): Promise<Cutover> {
    const log = options.log ?? createLogger();
    const clock = options.clock ?? systemClock;
    const settings = { config: options.config };
    const events = new EventHub(clock.now);
    const store = await SqliteStore.open(settings.config.state.sqlite);
    const alarm = new HealthAlarm(log, events);
    const registry = new TargetRegistry({ listener: alarm, clock: clock.now, settings: (app) => targetSettings(settings.config, app) });
    const stats = new StatsRegistry({ clock });
    const dataPath = new DataPath({ registry, stats });
    const listeners = new Listeners(settings.config, dataPath, log.child({ part: 'proxy' }));
    const drivers = new DriverFactory({ config: settings.config, listener: alarm, log });
    const controller = await Controller.start({
      config: settings.config,
      store,
      health: registry,
      events,
      clock,
      log: log.child({ part: 'controller' }),
      stats,
      driverFor: (app) => drivers.create(app),
      previewRoute: (app) => listeners.previewRoute(settings.config.apps[app]),
      routes: { onRouteTable: (table) => dataPath.apply(table) },
    });
    await drivers.reapOrphans();
    alarm.watch(controller, registry);
    const cutover = new Cutover(settings, log, events, store, registry, dataPath, listeners, controller, drivers);
    try {
      await cutover.admin.listen();
      await listeners.listen();
    } catch (err) {
      // What the drivers started must not outlive a start that failed.
      await cutover.stop();
      throw err;
    }
    return cutover;
  }

  get proxyUrl(): string {
    return this.listeners.publicUrl;
  }

  get adminUrl(): string {
    return addressUrl(this.admin.address());
  }

  /** Re-reads the config file. An invalid file throws ConfigError and the running config stays as it was. */
  async reload(): Promise<ReloadOutcome> {
    const before = this.settings.config;
    if (before.source === null) return { added: [], removed: [], needsRestart: [] };
    const next = await loadConfig(before.source);
    const needsRestart = restartOnlyChanges(before, next);
    this.settings.config = next;
    const { added, removed } = await this.controller.reload(next);
    this.registry.reconfigure();
    this.log.info({ added, removed, needsRestart }, 'config reloaded');
    this.events.emit({ type: 'config.reloaded', added, removed, needsRestart });
    return { added, removed, needsRestart };
  }

  /** Stops accepting, lets requests in flight finish for up to the longest drain, then closes everything. */
  async stop(): Promise<void> {
    const drainMs = Math.max(0, ...Object.values(this.settings.config.apps).map((a) => a.drainMs));
    await this.listeners.close(drainMs);
    await this.admin.close();
    await this.controller.stop();
    await this.drivers.close();
    await this.registry.close(0);
    await this.store.close();
  }
}

function addressUrl(address: { address: string; port: number }): string {
  const host = address.address === '::' || address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export function createLogger(level = process.env.CUTOVER_LOG_LEVEL ?? 'info'): Logger {
  const options = { level, base: { name: 'cutover' } };
  return pino(options) as unknown as Logger;
}

/** Logs and emits every target health change, and raises it loudly when a whole live environment is failing. */
class HealthAlarm implements TargetListener, DriverListener {
  private controller: Controller | null = null;
  private registry: TargetRegistry | null = null;

  constructor(private readonly log: Logger, private readonly events: EventHub) {}

  watch(controller: Controller, registry: TargetRegistry): void {
    this.controller = controller;
    this.registry = registry;
  }

  onTargetHealth(target: Target, healthy: boolean, reason: string | null): void {
    const { app, color, url } = target;
    this.log[healthy ? 'info' : 'warn']({ app, env: color, target: url, reason }, healthy ? 'target healthy' : 'target unhealthy');
    this.events.emit({ type: 'target.health', app, env: color, target: url, healthy, reason });
    if (!healthy && this.liveAllDown(app, color)) {
      this.log.error({ app, env: color }, 'every live target is failing its health checks; still sending traffic to them');
      this.events.emit({ type: 'app.unhealthy', app, env: color, reason });
    }
  }

  onInstanceEvent(event: InstanceEvent): void {
    const level = event.kind === 'restarted' ? 'info' : 'warn';
    this.log[level]({ app: event.app, env: event.color, target: event.url, detail: event.detail }, `instance ${event.kind}`);
    this.events.emit({ type: `instance.${event.kind}`, app: event.app, env: event.color, target: event.url, detail: event.detail });
  }

  private liveAllDown(app: string, color: string): boolean {
    if (this.controller === null || this.registry === null) return false;
    const record = this.controller.list().find((a) => a.name === app)?.state;
    if (record === undefined || record.live !== color) return false;
    return record.envs[record.live].targets.every((url) => !this.registry!.isHealthy(app, record.live!, url));
  }
}

function targetSettings(config: Config, app: string) {
  const a = config.apps[app];
  return {
    health: a!.health,
    connectTimeoutMs: config.timeouts.upstreamConnectMs,
    responseTimeoutMs: config.timeouts.upstreamResponseMs,
  };
}

function restartOnlyChanges(before: Config, after: Config): string[] {
  const changed: string[] = [];
  if (JSON.stringify(before.listen) !== JSON.stringify(after.listen)) changed.push('listen');
  if (JSON.stringify(before.admin) !== JSON.stringify(after.admin)) changed.push('admin');
  if (JSON.stringify(before.state) !== JSON.stringify(after.state)) changed.push('state');
  for (const [name, app] of Object.entries(after.apps)) {
    const old = before.apps[name];
    if (old === undefined) continue;
    if (JSON.stringify(old.driver) !== JSON.stringify(app.driver)) changed.push(`apps.${name}.driver`);
    if (JSON.stringify(old.preview?.listen ?? null) !== JSON.stringify(app.preview?.listen ?? null)) changed.push(`apps.${name}.preview.listen`);
  }
  return changed;
}

// The composition root: the one place that picks the store, builds the layers and wires their listeners.
import type { Handover } from './handover.ts';
import { AdminServer } from './admin/admin-server.ts';
import type { Config } from './config/config.ts';
import { loadConfig } from './config/load.ts';
import { describeReload, type ReloadOutcome } from './config/reload-outcome.ts';
import { CutoverError, toCutoverError } from './core/errors.ts';
import { localUrl } from './core/listen.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { EventHub } from './core/events.ts';
import type { Logger } from './core/logger.ts';
import { Controller } from './deploy/controller.ts';
import { TargetRegistry } from './pool/target-registry.ts';
import { AuditLog } from './admin/audit-log.ts';
import { createMetrics, type Metrics } from './admin/metrics.ts';
import { DriverFactory } from './drivers/driver-factory.ts';
import { HealthAlarm } from './health-alarm.ts';
import { AccessLog } from './log/access-log.ts';
import { createLogger } from './log/logger.ts';
import { UpstreamErrorCounter } from './stats/upstream-errors.ts';
import { DataPath } from './proxy/data-path.ts';
import { Listeners } from './proxy/listeners.ts';
import { StatsRegistry } from './stats/stats-registry.ts';
import type { Fleet } from './scaleout/fleet.ts';
import { targetSettings } from './pool/target-settings.ts';
import { DataPathWorkers } from './workers/worker-pool.ts';
import { openStore } from './store/open-store.ts';
import type { StateLock } from './store/state-lock.ts';
import type { StateStore } from './store/state-store.ts';

export interface CutoverOptions {
  readonly config: Config;
  readonly log?: Logger;
  readonly clock?: Clock;
  /** A hand-over: the pid of the cutover this one replaces, and its listening sockets by name. */
  readonly handover?: Handover;
}

/** What a Cutover keeps as `start` built it, in fields of the same names. */
type KeptParts =
  'log' | 'events' | 'store' | 'registry' | 'stats' | 'dataPath' | 'listeners' | 'controller' | 'drivers' | 'fleet' | 'workers';

/** Everything `start` builds, handed to the constructor in one piece: the parts it keeps as they are, and these. */
type Parts = Pick<Cutover, KeptParts> & {
  /** `config`: the one in effect; `started`: the one the process started with, whose listeners and store it keeps. */
  readonly settings: { config: Config; readonly started: Config };
  readonly upstreamErrors: UpstreamErrorCounter;
  readonly accessLog: AccessLog | null;
  readonly lock: StateLock | null;
};

export type { ReloadOutcome };

/** A running cutover: store, targets, controller, proxy and admin API, started in the order that loses nothing. */
export class Cutover {
  readonly admin: AdminServer;
  private readonly lock: StateLock | null;
  /** With state in etcd: this instance's part in the fleet sharing it. */
  readonly fleet: Fleet | null;
  /** With `workers` > 1: the data-path processes serving the listeners; null when this process serves them. */
  readonly workers: DataPathWorkers | null;
  /** Settles after start what a restart interrupted; tests may await it. */
  settling: Promise<void> = Promise.resolve();

  readonly log: Logger;
  readonly events: EventHub;
  readonly store: StateStore;
  readonly registry: TargetRegistry;
  readonly stats: StatsRegistry;
  readonly dataPath: DataPath;
  readonly listeners: Listeners;
  readonly controller: Controller;
  readonly drivers: DriverFactory;
  readonly metrics: Metrics;
  /** The trail of control actions: the admin API's, and the reloads SIGHUP asks for. */
  readonly audit: AuditLog;
  private readonly accessLog: AccessLog | null;
  private readonly settings: { config: Config; readonly started: Config };

  private constructor(parts: Parts) {
    ({ log: this.log, events: this.events, store: this.store, registry: this.registry, stats: this.stats } = parts);
    ({ dataPath: this.dataPath, listeners: this.listeners, controller: this.controller, drivers: this.drivers } = parts);
    this.settings = parts.settings;
    this.accessLog = parts.accessLog;
    this.lock = parts.lock;
    this.fleet = parts.fleet;
    this.workers = parts.workers;
    this.metrics = createMetrics({
      controller: parts.controller,
      targets: parts.registry,
      stats: parts.stats,
      events: parts.events,
      upstreamErrors: parts.upstreamErrors,
      draining: (app, color) => parts.dataPath.draining(app, color),
    });
    this.audit = new AuditLog({ store: parts.store, log: parts.log.child({ part: 'audit' }) });
    this.admin = new AdminServer({
      config: parts.settings.config.admin,
      controller: parts.controller,
      targets: parts.registry,
      events: parts.events,
      log: parts.log.child({ part: 'admin' }),
      reload: () => this.reload(),
      held: (app) => parts.workers?.held(app) ?? parts.dataPath.held(app),
      metrics: this.metrics,
      stats: parts.stats,
      audit: this.audit,
      ...(parts.fleet === null ? {} : { gate: parts.fleet, fleet: parts.fleet }),
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
    const settings = { config: options.config, started: options.config };
    const events = new EventHub(clock.now);
    const { store, etcd, lock } = await openStore(settings.config.state, { handoverFrom: options.handover?.from ?? null });
    const alarm = new HealthAlarm(log, events);
    // A hand-over passes listening sockets to one process: it keeps the data path in that process.
    const workerCount = options.handover === undefined ? settings.config.workers : 1;
    let workers: DataPathWorkers | null = null;
    const health = { onTargetHealth: (...verdict: Parameters<HealthAlarm['onTargetHealth']>) => {
      alarm.onTargetHealth(...verdict);
      workers?.onTargetHealth(...verdict);
    } };
    const registry = new TargetRegistry({ listener: health, clock: clock.now, settings: (app) => targetSettings(settings.config, app) });
    const stats = new StatsRegistry({ clock });
    const upstreamErrors = new UpstreamErrorCounter();
    if (workerCount > 1) {
      const workerLog = log.child({ part: 'workers' });
      workers = new DataPathWorkers({ count: workerCount, config: () => settings.config, registry, stats, upstreamErrors, events, log: workerLog });
    }
    const access = settings.config.accessLog;
    const accessLog = access === null ? null : new AccessLog({ path: access.path, log: log.child({ part: 'access-log' }) });
    // With workers the primary routes no request: only they open connections to an environment that becomes live.
    const dataPath = new DataPath({ registry, stats, upstreamErrors, accessLog, servesTraffic: workers === null });
    const listeners = new Listeners(settings.config, dataPath, log.child({ part: 'proxy' }));
    const drivers = new DriverFactory({ config: settings.config, listener: alarm, log });
    let fleet: Fleet | null = null;
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
      settledElsewhere: 'etcd' in settings.config.state,
      routes: {
        onRouteTable: (table) => {
          dataPath.apply(table);
          // The generation this instance reports to its fleet is the one its workers route by.
          if (workers === null) return fleet?.onRouteTable();
          return workers.apply(table).then(() => fleet?.onRouteTable());
        },
        // With workers the requests are theirs, and not waited for here.
        drained: (app) => registry.drained(app),
      },
    });
    if (etcd !== null && 'etcd' in settings.config.state) {
      // Loaded only with etcd, like the store: the etcd client is large.
      const { Fleet } = await import('./scaleout/fleet.ts');
      fleet = new Fleet({ settings: settings.config.state.etcd, store: etcd, apps: controller, events, clock, log: log.child({ part: 'fleet' }) });
    }
    await drivers.reapOrphans();
    alarm.watch(controller, registry);
    const parts = { settings, log, events, store, registry, stats, dataPath, listeners, controller, drivers, upstreamErrors, accessLog, lock, fleet, workers };
    const cutover = new Cutover(parts);
    try {
      if (options.handover !== undefined) {
        await listenHandedOver(options.handover, cutover.admin, listeners);
      } else {
        await cutover.admin.listen();
        if (workers === null) await listeners.listen();
        else listeners.servedBy(await workers.start());
      }
    } catch (err) {
      // What the drivers started must not outlive a start that failed; in a hand-over they run what the cutover being
      // replaced still serves (it goes on), so they stay.
      await cutover.stop({ keepProcesses: options.handover !== undefined });
      throw err;
    }
    // With a fleet, an app's open deployments are settled by the instance that wins its election, not by each.
    if (fleet !== null) await fleet.join({ adminUrl: cutover.adminUrl, proxyUrl: cutover.proxyUrl });
    else cutover.settling = controller.settle();
    return cutover;
  }

  get proxyUrl(): string {
    return this.listeners.publicUrl;
  }

  get adminUrl(): string {
    return localUrl(this.admin.address());
  }

  /**
   * Re-reads the config file. An invalid file throws ConfigError and the running config stays as it was. Reloads
   * run one at a time (a SIGHUP and an API call may come together).
   */
  reload(): Promise<ReloadOutcome> {
    const next = this.reloads.then(() => this.reloadNow());
    this.reloads = next.catch(() => {});
    return next;
  }

  private reloads: Promise<unknown> = Promise.resolve();

  private async reloadNow(): Promise<ReloadOutcome> {
    const before = this.settings.config;
    if (before.source === null) return { added: [], removed: [], needsRestart: [] };
    const next = await loadConfig(before.source);
    const needsRestart = restartOnlyChanges(this.settings.started, before, next);
    this.settings.config = next;
    this.accessLog?.reopen();
    this.workers?.reconfigure(next);
    const { added, removed } = await this.controller.reload(next);
    this.registry.reconfigure();
    this.log.info({ added, removed, needsRestart }, 'config reloaded');
    this.events.emit({ type: 'config.reloaded', added, removed, needsRestart });
    return { added, removed, needsRestart };
  }

  /** A reload asked by `signal` (SIGHUP): as the API's, and recorded in the audit trail as that signal's. */
  async reloadBySignal(signal: string): Promise<ReloadOutcome> {
    const entry = { at: this.audit.now(), action: 'reload' as const, app: null, who: signal };
    try {
      const outcome = await this.reload();
      await this.audit.record({ ...entry, outcome: 'ok', detail: describeReload(outcome) });
      return outcome;
    } catch (err) {
      const error = toCutoverError(err);
      await this.audit.record({ ...entry, outcome: error.code, detail: error.message });
      throw error;
    }
  }

  /** After a failed hand-over: the state lock names this process again. */
  reclaimLock(): void {
    this.lock?.reclaim();
  }

  /** Every listening server by name, for a hand-over to the cutover that replaces this one. */
  servers(): Map<string, unknown> {
    return new Map<string, unknown>([...this.listeners.servers(), ['admin', this.admin.listening]]);
  }

  /**
   * After a hand-over: stops like `stop`, but leaves the processes the drivers run (the new cutover adopted them)
   * and the state lock (it is the new cutover's now).
   */
  async retire(): Promise<void> {
    // With a fleet, the control plane goes first: the new process shares this admin socket and takes control calls
    // from now on, so it must lead the apps at once, not after this one's drain.
    return this.stop({ keepProcesses: true, controlFirst: this.fleet !== null });
  }

  /** Stops accepting, lets requests in flight finish for up to the longest drain, then closes everything. */
  async stop(options: { keepProcesses?: boolean; controlFirst?: boolean } = {}): Promise<void> {
    const drainMs = Math.max(0, ...Object.values(this.settings.config.apps).map((a) => a.drainMs));
    if (options.controlFirst === true) await this.stopControl();
    await this.workers?.stop(drainMs);
    await this.listeners.close(drainMs);
    await this.accessLog?.close();
    this.metrics.close();
    if (options.controlFirst !== true) await this.stopControl();
    if (!options.keepProcesses) await this.drivers.close();
    await this.registry.close(0);
    await this.store.close();
    this.lock?.release();
  }

  /** The admin API, the apps' operations and timers, and (with etcd) this instance's place in the fleet. */
  private async stopControl(): Promise<void> {
    await this.admin.close();
    await this.settling;
    await this.controller.stop();
    await this.fleet?.stop();
  }
}


/**
 * A hand-over's listening sockets, asked for with everything else ready, each listened on as it arrives (see
 * Handover.receiveListeners); one this config has no listener for is closed. Listeners the predecessor did not have
 * (a preview added to the config) open anew. A socket that did not come fails the hand-over: binding the address
 * anew would mean the predecessor no longer held it.
 */
async function listenHandedOver(handover: Handover, admin: AdminServer, listeners: Listeners): Promise<void> {
  listeners.prepare();
  const adopted = new Map<string, Promise<unknown>>();
  const missing: string[] = [];
  await handover.receiveListeners((name, socket) => {
    if (socket === undefined) return void missing.push(name);
    // A listener the config moved meanwhile opens its new address instead (see listenOn).
    const listening = name === 'admin' ? admin.listen(socket) : listeners.adopt(name, socket);
    if (listening === null) return socket.close();
    // Awaited below, once every socket came; a failure meanwhile must not count as unhandled.
    listening.catch(() => {});
    adopted.set(name, listening);
  });
  if (missing.length > 0) throw new CutoverError('HANDOVER_FAILED', 500, `the cutover being replaced sent no socket for ${missing.join(', ')}`);
  await Promise.all(adopted.values());
  if (!adopted.has('admin')) await admin.listen();
  await listeners.listen(new Set(adopted.keys()));
}

/**
 * What `after` changes that only a restart applies. The process-wide settings are compared with those it started
 * with (a change reverted by a later reload needs no restart); an app's with those it had before.
 */
function restartOnlyChanges(started: Config, before: Config, after: Config): string[] {
  const changed: string[] = [];
  if (JSON.stringify(started.listen) !== JSON.stringify(after.listen)) changed.push('listen');
  if (JSON.stringify(started.admin) !== JSON.stringify(after.admin)) changed.push('admin');
  if (JSON.stringify(started.state) !== JSON.stringify(after.state)) changed.push('state');
  if (JSON.stringify(started.accessLog) !== JSON.stringify(after.accessLog)) changed.push('accessLog');
  // Certificate file contents are watched; which files, or TLS on or off, takes a restart (or a hand-over).
  if (JSON.stringify(started.tls) !== JSON.stringify(after.tls)) changed.push('tls');
  if (started.workers !== after.workers) changed.push('workers');
  for (const [name, app] of Object.entries(after.apps)) {
    // Preview listeners open at start only: compared with what this process listens on, an app added by a reload too.
    const listening = started.apps[name]?.preview?.listen ?? null;
    if (JSON.stringify(listening) !== JSON.stringify(app.preview?.listen ?? null)) changed.push(`apps.${name}.preview.listen`);
    const old = before.apps[name];
    if (old === undefined) continue;
    if (JSON.stringify(old.driver) !== JSON.stringify(app.driver)) changed.push(`apps.${name}.driver`);
  }
  return changed;
}

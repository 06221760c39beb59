import type { AppConfig, Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { NotFoundError } from '../core/errors.ts';
import type { EventSink } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { AppRecord } from '../core/types.ts';
import type { HealthView } from '../health/health-view.ts';
import { buildRouteTable, type RouteTable } from '../proxy/route-table.ts';
import type { StateStore } from '../store/state-store.ts';
import type { EnvironmentDriver } from '../drivers/environment-driver.ts';
import { AppController } from './app-controller.ts';
import type { RunDeps } from './deployment-run.ts';
import type { PreviewRoute } from './verifier.ts';

/** Where the controller sends each new route table: the proxy in this process, workers or peers later. */
export interface RouteTableListener {
  /** May return when the table is applied everywhere it goes (every data-path worker); a switch waits for it. */
  onRouteTable(table: RouteTable): void | Promise<void>;
  /** Resolves once the requests in flight to an app that left the route table have finished (within its drain). */
  drained?(app: string): Promise<void>;
}

export interface ControllerOptions {
  readonly config: Config;
  /** The driver of each app, built by the composition root from the app's config. */
  readonly driverFor: (app: AppConfig) => EnvironmentDriver;
  readonly stats: RunDeps['stats'];
  readonly previewRoute: (app: string) => PreviewRoute | null;
  readonly store: StateStore;
  readonly health: HealthView;
  readonly routes: RouteTableListener;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Several instances share the store, and an app's open deployments are settled by the instance that wins its
   * election (scaleout/fleet.ts), not by each instance that loads the app.
   */
  readonly settledElsewhere?: boolean;
}

/** Every app's controller, and the one place that turns their stored state into the route table. */
export class Controller {
  /**
   * This process is handing over to its successor (SIGUSR2): a pause is refused meanwhile, since what this process
   * would hold could only be refused when it retires (and the successor, once it serves, holds its own).
   */
  handingOver = false;
  private readonly apps = new Map<string, AppController>();
  private config: Config;
  private generation = 0;

  private constructor(private readonly options: ControllerOptions) {
    this.config = options.config;
  }

  /** Loads every configured app from the store and publishes the route table built from it. */
  static async start(options: ControllerOptions): Promise<Controller> {
    const controller = new Controller(options);
    for (const app of Object.values(options.config.apps)) await controller.addApp(app);
    await controller.publish();
    return controller;
  }

  app(name: string): AppController {
    const app = this.apps.get(name);
    if (app === undefined) throw new NotFoundError(`no app named "${name}"`);
    return app;
  }

  list(): AppController[] {
    return [...this.apps.values()];
  }

  appConfig(name: string): AppConfig {
    this.app(name);
    return this.config.apps[name]!;
  }

  /**
   * Applies a new config: apps added are loaded, apps removed stop being routed (their stored state is kept, so
   * adding them back restores them), the rest take their new settings. One route table swap covers it all.
   */
  async reload(config: Config): Promise<{ added: string[]; removed: string[] }> {
    const added = Object.keys(config.apps).filter((name) => !this.apps.has(name));
    const removed = [...this.apps.keys()].filter((name) => config.apps[name] === undefined);
    this.config = config;
    for (const name of added) {
      await this.addApp(config.apps[name]!);
      if (this.options.settledElsewhere !== true) await this.apps.get(name)!.settle();
    }
    const leaving = removed.map((name) => this.apps.get(name)!);
    for (const name of removed) this.apps.delete(name);
    for (const [name, app] of this.apps) app.reconfigure(config.apps[name]!);
    // Routed no more before what it ran stops: its new requests get 404 NO_APP, not a refused connection (502), and
    // those in flight finish first (within its drain time).
    await this.publish();
    await Promise.all(leaving.map((app) => this.options.routes.drained?.(app.name)));
    for (const app of leaving) {
      // What the app ran stops with it; its stored state stays, so adding it back restores the route.
      await app.stop('the app was removed from the config by a reload');
      await app.options.driver.close();
    }
    return { added, removed };
  }

  /** A record of one of the apps written elsewhere (another instance sharing the store); see AppController.adopt. */
  adopt(record: AppRecord): void {
    this.apps.get(record.name)?.adopt(record);
  }

  /** After the listeners opened: every app settles what a restart interrupted. Never rejects. */
  async settle(): Promise<void> {
    for (const app of this.list()) {
      await app.settle().catch((err) => this.options.log.error({ app: app.name, err }, 'could not settle the deployments a restart interrupted'));
    }
  }

  /** Ends deployments in progress cleanly, before the store closes. */
  async stop(): Promise<void> {
    await Promise.all(this.list().map((app) => app.stop()));
  }

  private async addApp(config: AppConfig): Promise<void> {
    const app = await AppController.open({
      ...this.options,
      config,
      driver: this.options.driverFor(config),
      listener: { onAppChanged: () => this.publish() },
    });
    this.apps.set(config.name, app);
  }

  private publish(): Promise<void> {
    const records: AppRecord[] = this.list().map((a) => a.state);
    const pausedUntil = (name: string) => this.apps.get(name)?.pausedUntil ?? null;
    return Promise.resolve(this.options.routes.onRouteTable(buildRouteTable(++this.generation, records, this.config.apps, pausedUntil)));
  }
}

import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { AppConfig, Config } from '../config/config.ts';
import { localStateDir } from '../config/state-schema.ts';
import type { Logger } from '../core/logger.ts';
import type { DriverListener, EnvironmentDriver } from './environment-driver.ts';
import { ProcessDriver } from './process-driver.ts';
import { StaticDriver } from './static-driver.ts';

/** Builds each app's driver, and keeps them for the moments that concern all of them (restart, shutdown). */
export class DriverFactory {
  private readonly drivers: EnvironmentDriver[] = [];
  private scratch: string | null = null;

  constructor(private readonly options: { config: Config; listener: DriverListener; log: Logger }) {}

  create(app: AppConfig): EnvironmentDriver {
    const driver =
      app.driver.kind === 'process'
        ? new ProcessDriver({ app: app.name, config: app.driver, stateDir: this.stateDir(), listener: this.options.listener, log: this.options.log.child({ app: app.name, part: 'driver' }) })
        : new StaticDriver();
    this.drivers.push(driver);
    return driver;
  }

  /** After every app restored its environments: stops processes a previous run left that nobody took over. */
  async reapOrphans(): Promise<number> {
    let reaped = 0;
    for (const driver of this.drivers) if (driver instanceof ProcessDriver) reaped += await driver.reapOrphans();
    if (reaped > 0) this.options.log.warn({ reaped }, 'stopped processes left by a previous run');
    return reaped;
  }

  /** Stops everything the drivers started. */
  async close(): Promise<void> {
    await Promise.all(this.drivers.map((d) => d.close()));
  }

  /** Processes' records and output live beside the state file (with etcd, the config file), so they outlive a restart. */
  private stateDir(): string {
    const local = localStateDir(this.options.config);
    if (local !== null) return join(local, 'processes');
    // No state file to sit beside: a folder of this run's own, so two such runs never reap each other's processes.
    return (this.scratch ??= mkdtempSync(join(tmpdir(), 'cutover-processes-')));
  }
}

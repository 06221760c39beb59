// Brings switches made by other instances into this one: every app record written to the shared store reaches the
// controller, which takes it when it is newer than its own and rebuilds the route table from it, as it does after
// its own writes. The watch reports each write within milliseconds; a resync (after etcd was away, or after a
// watch etcd ended) reads every app again.

import type { Logger } from '../core/logger.ts';
import type { AppRecord } from '../core/types.ts';
import type { StopWatching } from '../store/etcd-store.ts';

/** The part of the etcd store the watcher reads. */
export interface AppRecordSource {
  listApps(): Promise<AppRecord[]>;
  watchApps(onChange: (app: AppRecord) => void, onError?: (err: unknown) => void): Promise<StopWatching>;
}

/** Where newer records go: the controller. */
export interface AppRecordSink {
  adopt(record: AppRecord): void;
}

export interface RouteWatcherOptions {
  readonly source: AppRecordSource;
  readonly sink: AppRecordSink;
  readonly log: Logger;
}

const RESTART_AFTER_MS = 500;

export class RouteWatcher {
  #stop: StopWatching | null = null;
  #restart: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(private readonly options: RouteWatcherOptions) {}

  /** Watches, then reads every app once, so that nothing written before the watch began is missed. */
  async start(): Promise<void> {
    try {
      const { source, sink } = this.options;
      this.#stop = await source.watchApps((record) => sink.adopt(record), (err) => this.#restartSoon(err));
      await this.resync();
    } catch (err) {
      this.#restartSoon(err);
      throw err;
    }
  }

  /** Reads every app and hands the controller those newer than its own. */
  async resync(): Promise<void> {
    for (const record of await this.options.source.listApps()) this.options.sink.adopt(record);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restart !== null) clearTimeout(this.#restart);
    await this.#stop?.();
  }

  #restartSoon(err: unknown): void {
    if (this.#stopped || this.#restart !== null) return;
    this.options.log.warn({ err }, 'the watch of app routes ended; starting it again');
    this.#restart = setTimeout(() => {
      this.#restart = null;
      const stop = this.#stop;
      this.#stop = null;
      void (stop?.() ?? Promise.resolve()).then(() => (this.#stopped ? undefined : this.start())).catch(() => {});
    }, RESTART_AFTER_MS);
    this.#restart.unref();
  }
}

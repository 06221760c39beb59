// One election per app: the instance whose id is stored at `leaders/<app>` runs the app's control operations
// (deployments, switches, rollbacks, retirements). The key is created under the winner's lease with a
// compare-and-swap on its creation, so two instances cannot both win; when the winner's lease runs out the key
// goes, every instance sees it go, and the first to create it again wins.
//
// An instance that lost its lease (etcd was away too long) may find its own id still stored under the old lease
// when etcd returns; it takes the key over under its new lease rather than waiting for the old one to run out.

import type { Namespace } from 'etcd3';
import type { Logger } from '../core/logger.ts';
import { withinDeadline } from '../store/etcd-connection.ts';
import { LEADERS, leaderKey } from './fleet-keys.ts';
import { KeyMirror, type MirrorListener } from './key-mirror.ts';

export interface ElectionListener {
  onElected(app: string): void;
  onDeposed(app: string): void;
}

export interface AppElectionsOptions {
  readonly kv: Namespace;
  readonly instanceId: string;
  /** The lease to campaign under; null while this instance has none. */
  readonly lease: () => string | null;
  readonly listener: ElectionListener;
  readonly timeoutMs: number;
  readonly log: Logger;
}

const RETRY_AFTER_MS = 1_000;

export class AppElections implements MirrorListener {
  readonly #mirror: KeyMirror;
  readonly #apps = new Set<string>();
  readonly #held = new Set<string>();
  /** Campaigns under way, by app: a second call for the same app joins the first. */
  readonly #campaigning = new Map<string, Promise<void>>();
  #stopped = false;

  constructor(private readonly options: AppElectionsOptions) {
    this.#mirror = new KeyMirror({ ...options, prefix: LEADERS, listener: this });
  }

  start(): Promise<void> {
    return this.#mirror.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#mirror.stop();
  }

  /** The id of the instance that runs `app`, as last seen; null while there is none. */
  leaderOf(app: string): string | null {
    return this.#held.has(app) ? this.options.instanceId : (this.#mirror.entries.get(app) ?? null);
  }

  holds(app: string): boolean {
    return this.#held.has(app);
  }

  /** Every app this instance leads. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /** Campaigns for the apps in `apps` it did not campaign for yet. */
  want(apps: readonly string[]): void {
    for (const app of apps) {
      if (this.#apps.has(app)) continue;
      this.#apps.add(app);
      void this.#campaign(app);
    }
  }

  /** After a new lease: campaign for every app again; resolves when each campaign is decided (or failed). */
  async campaignAll(): Promise<void> {
    await Promise.all([...this.#apps].map((app) => this.#campaign(app)));
  }

  /** The lease is gone, and with it every election this instance had won. */
  deposeAll(): void {
    for (const app of [...this.#held]) this.#depose(app);
  }

  onPut(app: string, leader: string): void {
    if (this.#held.has(app) && leader !== this.options.instanceId) this.#depose(app);
  }

  onDelete(app: string): void {
    if (this.#held.has(app)) this.#depose(app);
    if (this.#apps.has(app)) void this.#campaign(app);
  }

  #campaign(app: string): Promise<void> {
    const lease = this.options.lease();
    if (this.#stopped || lease === null || this.#held.has(app)) return Promise.resolve();
    const running = this.#campaigning.get(app);
    if (running !== undefined) return running;
    const campaign = this.#take(app, lease)
      .then((won) => {
        if (won) this.#elect(app);
      })
      .catch((err) => {
        this.options.log.warn({ err, app }, 'could not campaign for the app; trying again');
        setTimeout(() => void this.#campaign(app), RETRY_AFTER_MS).unref();
      })
      .finally(() => this.#campaigning.delete(app));
    this.#campaigning.set(app, campaign);
    return campaign;
  }

  /** One compare-and-swap: true when this instance now holds the app's key under `lease`. */
  async #take(app: string, lease: string): Promise<boolean> {
    const { kv, instanceId, timeoutMs } = this.options;
    const key = leaderKey(app);
    const claim = () => kv.put(key).value(instanceId).lease(lease);
    const first = await withinDeadline(kv.if(key, 'Create', '==', 0).then(claim()).else(kv.get(key)).commit(), timeoutMs, `campaign for ${app}`);
    if (first.succeeded) return true;
    const current = first.responses[0]?.response_range.kvs[0];
    if (current === undefined || current.value.toString() !== instanceId) return false;
    if (current.lease === lease) return true;
    const retake = kv.if(key, 'Mod', '==', current.mod_revision).then(claim()).commit();
    return (await withinDeadline(retake, timeoutMs, `campaign for ${app}`)).succeeded;
  }

  #elect(app: string): void {
    if (this.#stopped || this.#held.has(app)) return;
    this.#held.add(app);
    this.options.listener.onElected(app);
  }

  #depose(app: string): void {
    if (!this.#held.delete(app)) return;
    this.options.listener.onDeposed(app);
  }
}

// This instance as one of several sharing etcd (issue #6), put together from its parts:
// - membership: a lease, and this instance's record under it (what `cutover status` lists);
// - route watcher: switches made elsewhere reach this instance's data path within milliseconds;
// - app elections: one instance per app runs its control operations; the others forward control calls to it;
// - on winning an app's election, the deployment its previous leader left open is resumed or failed, as after a
//   restart (recovery.ts).
// When etcd is away, the data path keeps the last route table it applied (nothing here touches it), control calls
// are refused with STORE_UNAVAILABLE, and when etcd returns the instance reads every app again, joins again with a
// new lease if its old one ran out, and campaigns again.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Etcd3, Namespace } from 'etcd3';
import type { ControlGate, FleetView, InstanceStatus, LeaderStatus } from '../admin/control-gate.ts';
import type { EtcdSettings } from '../config/state-schema.ts';
import type { Clock } from '../core/clock.ts';
import { NoLeaderError, NotLeaderError, StoreUnavailableError } from '../core/errors.ts';
import type { EventSink } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { COLORS, type AppRecord, type Color, type InstanceRecord } from '../core/types.ts';
import { connectEtcd } from '../store/etcd-connection.ts';
import { AppElections } from './app-elections.ts';
import { INSTANCES } from './fleet-keys.ts';
import { newIdentity, parseInstance, type InstanceIdentity } from './instance-record.ts';
import { KeyMirror } from './key-mirror.ts';
import { forwardControl, isForwarded } from './leader-forwarder.ts';
import { Membership } from './membership.ts';
import { RouteWatcher, type AppRecordSink, type AppRecordSource } from './route-watcher.ts';

/** What the fleet needs of one app's controller. */
export interface LedApp {
  readonly name: string;
  readonly state: AppRecord;
  readonly current: { readonly open: boolean } | null;
  refresh(): Promise<void>;
  settle(interruption: string): Promise<void>;
  cancelRetire(color: Color): void;
}

/** What the fleet needs of the controller: its apps, and a way in for records written elsewhere. */
export interface FleetApps extends AppRecordSink {
  list(): readonly LedApp[];
  app(name: string): LedApp;
}

export interface FleetOptions {
  readonly settings: EtcdSettings;
  readonly store: AppRecordSource;
  readonly apps: FleetApps;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly log: Logger;
}

const TAKEOVER = 'a change of the instance running this app';

/** How often a control call that came while this instance could not route it yet looks again (see #settled). */
const SETTLE_POLL_MS = 25;

export class Fleet implements ControlGate, FleetView {
  readonly #client: Etcd3;
  readonly #kv: Namespace;
  #identity: InstanceIdentity;
  #applied: Pick<InstanceRecord, 'appliedAt' | 'apps'>;
  readonly #membership: Membership;
  readonly #elections: AppElections;
  /** Joined: every election campaigned for once (see join). */
  #ready = false;
  readonly #instances: KeyMirror;
  readonly #routes: RouteWatcher;
  readonly #takeovers = new Map<string, Promise<void>>();
  #joined = false;

  constructor(private readonly options: FleetOptions) {
    const { settings, log } = options;
    this.#client = connectEtcd(settings);
    this.#kv = this.#client.namespace(`${settings.prefix}/`);
    this.#identity = newIdentity({ adminUrl: '', proxyUrl: '' }, options.clock.now());
    this.#applied = { appliedAt: options.clock.now(), apps: {} };
    const common = { kv: this.#kv, timeoutMs: settings.timeoutMs, log };
    this.#membership = new Membership({ ...common, leaseMs: settings.leaseMs, record: () => this.#record(), listener: this.#membershipListener() });
    this.#elections = new AppElections({
      ...common,
      instanceId: this.id,
      lease: () => this.#membership.leaseId,
      listener: { onElected: (app) => this.#takeOver(app), onDeposed: (app) => this.#deposed(app) },
    });
    this.#instances = new KeyMirror({ ...common, prefix: INSTANCES, listener: { onPut: () => {}, onDelete: () => {} } });
    this.#routes = new RouteWatcher({ source: options.store, sink: options.apps, log });
  }

  get id(): string {
    return this.#identity.id;
  }

  /**
   * Once this instance listens: watches routes, instances and elections, registers, and campaigns for every app.
   * Never rejects: what etcd did not answer is tried again in the background.
   */
  async join(urls: { adminUrl: string; proxyUrl: string }): Promise<void> {
    this.#identity = { ...this.#identity, ...urls };
    const started = await Promise.allSettled([this.#routes.start(), this.#instances.start(), this.#elections.start()]);
    for (const s of started) if (s.status === 'rejected') this.options.log.warn({ err: s.reason }, 'etcd did not answer at start; trying again');
    this.#joined = true;
    this.#elections.want(this.options.apps.list().map((a) => a.name));
    await this.#membership.start();
    // Serving starts with every election decided (when etcd answers), so the first control call finds its leader.
    await this.#elections.campaignAll();
    this.#ready = true;
  }

  /** After the data path applied a route table: the instance record says which. */
  onRouteTable(): void {
    const apps = Object.fromEntries(this.options.apps.list().map((a) => [a.name, { generation: a.state.generation, revision: a.state.revision }]));
    this.#applied = { appliedAt: this.options.clock.now(), apps };
    if (!this.#joined) return;
    this.#membership.report();
    this.#elections.want(Object.keys(apps));
  }

  async intercept(app: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    await this.#settled(app);
    if (!this.#membership.connected) {
      const where = this.options.settings.endpoints.join(', ');
      throw new StoreUnavailableError(`this instance cannot reach etcd at ${where}: control calls are refused until it answers again (traffic keeps its last routes)`);
    }
    if (this.#elections.holds(app)) {
      // Just elected: what the previous leader left open is settled before anything new starts.
      await this.#takeovers.get(app);
      return false;
    }
    const leader = this.leaderOf(app);
    if (leader === null) throw new NoLeaderError(app, 'the instance that ran it is gone and the election is not decided yet');
    if (isForwarded(req)) throw new NotLeaderError(app, leader);
    await forwardControl(req, res, url, leader, this.id);
    return true;
  }

  instances(): InstanceStatus[] {
    const leads = new Map<string, string[]>();
    for (const app of this.options.apps.list()) {
      const leader = this.#elections.leaderOf(app.name);
      if (leader !== null) leads.set(leader, [...(leads.get(leader) ?? []), app.name]);
    }
    return [...this.#instances.entries.values()]
      .map(parseInstance)
      .filter((r): r is InstanceRecord => r !== null)
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
      .map((r) => ({ ...r, leads: leads.get(r.id) ?? [], self: r.id === this.id }));
  }

  /**
   * Waits, up to one lease time, while this instance cannot yet route a control call of `app` well: it has not
   * joined yet, the app has no leader, or its leader's admin URL is this instance's own. The last two happen during
   * a hand-over (SIGUSR2): the new process shares the old one's admin socket, and takes over the app once the old one
   * leaves; forwarding to that shared address could reach this process again.
   */
  async #settled(app: string): Promise<void> {
    const unsettled = () => {
      // Not joined yet (a new process taking over): the call waits. Joined and cut off from etcd: refused at once.
      if (!this.#membership.connected) return !this.#ready;
      if (this.#elections.holds(app)) return false;
      const leader = this.leaderOf(app);
      return leader === null || (this.#identity.adminUrl !== '' && leader.adminUrl === this.#identity.adminUrl);
    };
    for (const deadline = Date.now() + this.options.settings.leaseMs; unsettled() && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  leaderOf(app: string): LeaderStatus | null {
    const id = this.#elections.leaderOf(app);
    if (id === null) return null;
    if (id === this.id) return { id, adminUrl: this.#identity.adminUrl };
    const record = parseInstance(this.#instances.entries.get(id) ?? '');
    return record === null ? null : { id, adminUrl: record.adminUrl };
  }

  /** Waits for takeovers under way, leaves the fleet (its apps go to the others at once) and disconnects. */
  async stop(): Promise<void> {
    await Promise.all(this.#takeovers.values());
    await Promise.all([this.#routes.stop(), this.#elections.stop(), this.#instances.stop()]);
    await this.#membership.stop();
    this.#client.close();
  }

  #record(): InstanceRecord {
    return { ...this.#identity, ...this.#applied };
  }

  #membershipListener() {
    return {
      onJoined: () => {
        void this.#elections.campaignAll();
        this.#resync();
      },
      onLost: () => this.#elections.deposeAll(),
      onReconnected: () => {
        this.#resync();
        this.#membership.report();
      },
    };
  }

  #resync(): void {
    this.#routes.resync().catch((err) => this.options.log.warn({ err }, 'could not read the apps again after etcd came back'));
  }

  /** Runs `app` from now on: takes its latest record, then resumes or fails what its previous leader left open. */
  #takeOver(name: string): void {
    const { log, events } = this.options;
    log.info({ app: name, instance: this.id }, `this instance now runs the control operations of app "${name}"`);
    events.emit({ type: 'leader', app: name, instance: this.id });
    const previous = this.#takeovers.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const app = this.options.apps.app(name);
      await app.refresh();
      // Elected again after a lost lease while still running its own deployment: nothing to take over.
      if (app.current?.open) return;
      await app.settle(TAKEOVER);
    });
    const done = next.catch((err) => log.error({ err, app: name }, 'could not take over the app'));
    this.#takeovers.set(name, done);
    void done.finally(() => this.#takeovers.get(name) === done && this.#takeovers.delete(name));
  }

  /** Another instance runs `name` now: the standby retirements this one had scheduled are its to schedule. */
  #deposed(name: string): void {
    this.options.log.warn({ app: name, instance: this.id }, `this instance no longer runs the control operations of app "${name}"`);
    const app = this.options.apps.list().find((a) => a.name === name);
    for (const color of COLORS) app?.cancelRetire(color);
  }
}

// The store several cutover instances share: etcd, through the etcd3 client. Keys are laid out in etcd-keys.ts.
// An app's revision is its key's mod_revision, so a compare-and-swap is one etcd transaction, and the revision is
// the same number a watch reports. Every call is bounded by `state.etcd.timeout` and fails with STORE_UNAVAILABLE
// past it, or as soon as etcd cannot be reached.

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Etcd3, IKeyValue, IOperation, Namespace, Watcher } from 'etcd3';
import type { EtcdSettings } from '../config/state-schema.ts';
import { RevisionConflictError, StoreUnavailableError } from '../core/errors.ts';
import { TERMINAL_PHASES, type AppRecord, type DeploymentRecord } from '../core/types.ts';
import type { AuditQuery, AuditRecord } from './audit-record.ts';
import { connectEtcd, storeFailure, withinDeadline } from './etcd-connection.ts';
import {
  APPS, AUDIT, OPEN_DEPLOYMENTS, appKey, auditKey, auditOf, deploymentIndexKey, deploymentKey, deploymentsOf,
  openDeploymentKey, timeGroup,
} from './etcd-keys.ts';
import type { PutAppOptions, StateStore } from './state-store.ts';

/** Stops a watch; resolves once etcd cancelled it (or the store closed). */
export type StopWatching = () => Promise<void>;

export class EtcdStore implements StateStore {
  readonly #client: Etcd3;
  readonly #kv: Namespace;
  readonly #settings: EtcdSettings;
  readonly #watchers = new Set<Watcher>();
  #closed = false;

  /** Connects and reads once, so that an unreachable etcd or a bad password fails here with STORE_UNAVAILABLE. */
  static async open(settings: EtcdSettings): Promise<EtcdStore> {
    const store = new EtcdStore(settings, connectEtcd(settings));
    try {
      const read = store.#kv.getAll().prefix(APPS).limit(1).exec();
      await withinDeadline(read, settings.timeoutMs, `cannot reach ${store.#where()}`);
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  private constructor(settings: EtcdSettings, client: Etcd3) {
    this.#settings = settings;
    this.#client = client;
    this.#kv = client.namespace(`${settings.prefix}/`);
  }

  async listApps(): Promise<AppRecord[]> {
    return this.#call('list apps', async () => {
      const { kvs } = await this.#kv.getAll().prefix(APPS).exec();
      return kvs.map(parseApp).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async getApp(name: string): Promise<AppRecord | null> {
    return this.#call(`read app "${name}"`, async () => {
      const [kv] = (await this.#kv.get(appKey(name)).exec()).kvs;
      return kv === undefined ? null : parseApp(kv);
    });
  }

  async putApp(app: AppRecord, expectedRevision: number, options: PutAppOptions = {}): Promise<AppRecord> {
    const key = appKey(app.name);
    const { revision: _, ...record } = app;
    const json = JSON.stringify(record);
    const deployment = options.deployment === undefined ? null : JSON.stringify(options.deployment);
    // A commit acknowledged by etcd is already on a majority of its members' disks.
    const stored = await this.#call(`write app "${app.name}"`, async (deadline) => {
      for (;;) {
        const together = deployment === null ? null : await this.#deploymentWrites(JSON.parse(deployment) as DeploymentRecord, deployment);
        // A missing key has mod_revision 0, so revision 0 means "must not exist" with no special case.
        let txn = this.#kv.if(key, 'Mod', '==', expectedRevision);
        if (together !== null) txn = txn.and(together.key, 'Mod', '==', together.revision);
        const result = await txn.then(this.#kv.put(key).value(json), ...(together?.writes ?? [])).else(this.#kv.get(key)).commit();
        if (result.succeeded) return { ...(JSON.parse(json) as Omit<AppRecord, 'revision'>), revision: Number(result.header.revision) };
        const actual = Number(result.responses[0]?.response_range.kvs[0]?.mod_revision ?? 0);
        if (actual !== expectedRevision || together === null) throw new RevisionConflictError(`app "${app.name}"`, expectedRevision, actual);
        // Only the deployment's record changed between its read and this write: read it again.
        if (Date.now() >= deadline) throw new StoreUnavailableError(`${this.#where()}: other writers kept coming first`);
      }
    });
    options.onCommitted?.(stored);
    return stored;
  }

  async deleteApp(name: string): Promise<void> {
    await this.#call(`delete app "${name}"`, () => this.#kv.delete().key(appKey(name)).exec());
  }

  async putDeployment(deployment: DeploymentRecord): Promise<void> {
    const json = JSON.stringify(deployment);
    const copy = JSON.parse(json) as DeploymentRecord; // the caller may change its own while the write is under way
    await this.#call(`write deployment "${deployment.id}"`, (deadline) =>
      this.#untilCommitted(deadline, () => this.#writeDeployment(copy, json)),
    );
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    return this.#call(`read deployment "${id}"`, () => this.#readDeployment(id));
  }

  async listDeployments(app: string, limit: number): Promise<DeploymentRecord[]> {
    return this.#call(`list deployments of app "${app}"`, async () => {
      const ids = (await this.#newestFirst(deploymentsOf(app), limit)).map((kv) => kv.value.toString());
      const found = await Promise.all(ids.map((id) => this.#readDeployment(id)));
      return found.filter((d): d is DeploymentRecord => d !== null);
    });
  }

  async listOpenDeployments(): Promise<DeploymentRecord[]> {
    return this.#call('list open deployments', async () => {
      const { kvs } = await this.#kv.getAll().prefix(OPEN_DEPLOYMENTS).exec();
      return kvs
        .map((kv) => ({ record: parseJson<DeploymentRecord>(kv), created: Number(kv.create_revision) }))
        .sort((a, b) => a.record.createdAt - b.record.createdAt || a.created - b.created)
        .map((entry) => entry.record);
    });
  }

  async putAudit(entry: AuditRecord): Promise<void> {
    const json = JSON.stringify(entry);
    const unique = randomUUID();
    const keys = [AUDIT, ...(entry.app === null ? [] : [auditOf(entry.app)])].map((p) => auditKey(p, entry.at, unique));
    // One transaction: both copies of the entry or neither. Its condition holds for a fresh key; it keeps the trail
    // append-only all the same.
    await this.#call(`write an audit entry of ${entry.action}`, () =>
      this.#kv.if(keys[0]!, 'Create', '==', 0).then(...keys.map((key) => this.#kv.put(key).value(json))).commit(),
    );
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#call('list the audit trail', async () => {
      const kvs = await this.#newestFirst(query.app === undefined ? AUDIT : auditOf(query.app), query.limit);
      return kvs.map((kv) => parseJson<AuditRecord>(kv));
    });
  }

  /**
   * Calls `onChange` with every app written after the watch started, with its new revision (not with deletions).
   * The watch survives an etcd outage: it reconnects and delivers what it missed. `onError` hears when etcd ends it.
   */
  async watchApps(
    onChange: (app: AppRecord) => void,
    onError: (err: unknown) => void = () => {},
  ): Promise<StopWatching> {
    this.#checkOpen('watch apps');
    const context = `watch apps in ${this.#where()}`;
    const watcher = this.#kv.watch().prefix(APPS).watcher();
    this.#watchers.add(watcher);
    watcher.on('put', (kv) => deliver(kv, onChange, onError));
    watcher.on('error', (err) => onError(storeFailure(err, context)));
    const stop = () => this.#unwatch(watcher);
    try {
      await this.#call('watch apps', () => once(watcher, 'connected'));
      return stop;
    } catch (err) {
      await stop();
      throw err;
    }
  }

  /** Stops the watches and closes the client; this store takes no leases, so nothing is left to revoke. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((w) => this.#unwatch(w)));
    this.#client.close();
  }

  async #call<T>(action: string, work: (deadline: number) => Promise<T>): Promise<T> {
    this.#checkOpen(action);
    const ms = this.#settings.timeoutMs;
    return withinDeadline(work(Date.now() + ms), ms, `cannot ${action} in ${this.#where()}`);
  }

  #checkOpen(action: string): void {
    if (this.#closed) throw new StoreUnavailableError(`cannot ${action}: ${this.#where()} is closed`);
  }

  #where(): string {
    return `the etcd store at ${this.#settings.endpoints.join(', ')}`;
  }

  /** Repeats `attempt` until it commits, that is until no other writer came in between its read and its write. */
  async #untilCommitted(deadline: number, attempt: () => Promise<boolean>): Promise<void> {
    while (!(await attempt())) {
      if (Date.now() >= deadline) throw new StoreUnavailableError(`${this.#where()}: other writers kept coming first`);
    }
  }

  /** One attempt: false when another writer changed the record between our read and our write. */
  async #writeDeployment(deployment: DeploymentRecord, json: string): Promise<boolean> {
    const { key, revision, writes } = await this.#deploymentWrites(deployment, json);
    const result = await this.#kv.if(key, 'Mod', '==', revision).then(...writes).commit();
    return result.succeeded;
  }

  /** The writes that store one deployment, valid while its key is still at `revision` (read here). */
  async #deploymentWrites(deployment: DeploymentRecord, json: string): Promise<{ key: string; revision: string | number; writes: IOperation[] }> {
    const key = deploymentKey(deployment.id);
    const [current] = (await this.#kv.get(key).exec()).kvs;
    const index = deploymentIndexKey(deployment);
    // Moved to another app or time (which no caller does, but the interface allows): the old index entry goes.
    const old = current === undefined ? null : deploymentIndexKey(parseJson<DeploymentRecord>(current));
    const writes = [
      this.#kv.put(key).value(json),
      this.#kv.put(index).value(deployment.id), // an existing key keeps its create_revision, hence its place
      this.#openDeploymentWrite(deployment, json),
      ...(old === null || old === index ? [] : [this.#kv.delete().key(old)]),
    ];
    return { key, revision: current?.mod_revision ?? 0, writes };
  }

  #openDeploymentWrite(deployment: DeploymentRecord, json: string): IOperation {
    const key = openDeploymentKey(deployment.id);
    return TERMINAL_PHASES.has(deployment.phase) ? this.#kv.delete().key(key) : this.#kv.put(key).value(json);
  }

  async #readDeployment(id: string): Promise<DeploymentRecord | null> {
    const [kv] = (await this.#kv.get(deploymentKey(id)).exec()).kvs;
    return kv === undefined ? null : parseJson<DeploymentRecord>(kv);
  }

  /**
   * The entries under `prefix`, newest first, up to `limit` (not finite: all). Keys end in `<time>/<name>`: the time
   * orders them, and within one millisecond the order etcd created them in (create_revision), which the key cannot
   * show; so when the limit cuts into a millisecond, that millisecond is read whole.
   */
  async #newestFirst(prefix: string, limit: number): Promise<IKeyValue[]> {
    const count = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : undefined;
    // etcd reads a limit of 0 as "no limit".
    if (count === 0) return [];
    const range = this.#kv.getAll().prefix(prefix).sort('Key', 'Descend');
    if (count !== undefined) range.limit(count);
    let { kvs } = await range.exec();
    const last = kvs.at(-1);
    if (last !== undefined && kvs.length === count) {
      const group = timeGroup(last.key.toString());
      const whole = (await this.#kv.getAll().prefix(group).exec()).kvs;
      kvs = [...kvs.filter((kv) => timeGroup(kv.key.toString()) !== group), ...whole];
    }
    return kvs.sort(newestFirst).slice(0, count);
  }

  async #unwatch(watcher: Watcher): Promise<void> {
    if (!this.#watchers.delete(watcher)) return;
    // Cancelling asks etcd; when etcd is gone, closing the client ends the stream anyway.
    await withinDeadline(watcher.cancel(), this.#settings.timeoutMs, 'stop watching apps').catch(() => {});
  }
}

function newestFirst(a: IKeyValue, b: IKeyValue): number {
  const [groupA, groupB] = [timeGroup(a.key.toString()), timeGroup(b.key.toString())];
  if (groupA !== groupB) return groupA < groupB ? 1 : -1;
  return Number(b.create_revision) - Number(a.create_revision);
}

function parseApp(kv: IKeyValue): AppRecord {
  return { ...parseJson<Omit<AppRecord, 'revision'>>(kv), revision: Number(kv.mod_revision) };
}

function parseJson<T>(kv: IKeyValue): T {
  return JSON.parse(kv.value.toString()) as T;
}

function deliver(kv: IKeyValue, onChange: (app: AppRecord) => void, onError: (err: unknown) => void): void {
  try {
    onChange(parseApp(kv));
  } catch (err) {
    onError(err);
  }
}

// A live copy of the keys under one prefix: listed once, then kept current by a watch that starts right after the
// listing's revision, so nothing written in between is missed. The etcd3 client reconnects a watch broken by an
// outage and replays what it missed; a watch etcd cancels (its history compacted away) is started again from a new
// listing, which also reports the keys deleted meanwhile.

import { once } from 'node:events';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import type { Logger } from '../core/logger.ts';
import { withinDeadline } from '../store/etcd-connection.ts';
import { nameIn } from './fleet-keys.ts';

export interface MirrorListener {
  onPut(name: string, value: string): void;
  onDelete(name: string, previous: string): void;
}

export interface KeyMirrorOptions {
  readonly kv: Namespace;
  readonly prefix: string;
  readonly listener: MirrorListener;
  readonly timeoutMs: number;
  readonly log: Logger;
}

const RESTART_AFTER_MS = 500;

export class KeyMirror {
  /** Name (the key without the prefix) → value. */
  readonly entries = new Map<string, string>();
  #watcher: Watcher | null = null;
  #restart: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(private readonly options: KeyMirrorOptions) {}

  /** Lists and watches; rejects (STORE_UNAVAILABLE) when etcd does not answer, and then tries again on its own. */
  async start(): Promise<void> {
    try {
      await this.#startOnce();
    } catch (err) {
      this.#restartSoon(err);
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restart !== null) clearTimeout(this.#restart);
    await this.#unwatch();
  }

  async #startOnce(): Promise<void> {
    const { kv, prefix, timeoutMs } = this.options;
    const listed = await withinDeadline(kv.getAll().prefix(prefix).exec(), timeoutMs, `list ${prefix}`);
    this.#replaceAll(listed.kvs);
    const watcher = kv.watch().prefix(prefix).startRevision(String(Number(listed.header.revision) + 1)).watcher();
    this.#watcher = watcher;
    watcher.on('put', (entry) => this.#put(this.#name(entry), entry.value.toString()));
    watcher.on('delete', (entry) => this.#delete(this.#name(entry)));
    watcher.on('error', (err) => this.#restartSoon(err));
    await withinDeadline(once(watcher, 'connected'), timeoutMs, `watch ${prefix}`);
  }

  #replaceAll(kvs: IKeyValue[]): void {
    const listed = new Map(kvs.map((entry) => [this.#name(entry), entry.value.toString()]));
    for (const name of [...this.entries.keys()]) if (!listed.has(name)) this.#delete(name);
    for (const [name, value] of listed) this.#put(name, value);
  }

  #put(name: string, value: string): void {
    if (this.entries.get(name) === value) return;
    this.entries.set(name, value);
    this.options.listener.onPut(name, value);
  }

  #delete(name: string): void {
    const previous = this.entries.get(name);
    if (previous === undefined) return;
    this.entries.delete(name);
    this.options.listener.onDelete(name, previous);
  }

  #name(entry: IKeyValue): string {
    return nameIn(this.options.prefix, entry.key.toString());
  }

  #restartSoon(err: unknown): void {
    if (this.#stopped || this.#restart !== null) return;
    this.options.log.warn({ err, prefix: this.options.prefix }, 'watch ended; listing again');
    this.#restart = setTimeout(() => {
      this.#restart = null;
      void this.#unwatch()
        .then(() => (this.#stopped ? undefined : this.#startOnce()))
        .catch((again) => this.#restartSoon(again));
    }, RESTART_AFTER_MS);
    this.#restart.unref();
  }

  async #unwatch(): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = null;
    if (watcher !== null) await withinDeadline(watcher.cancel(), this.options.timeoutMs, 'stop watching').catch(() => {});
  }
}

// Opens the store that `state:` names, with what goes with it: a SQLite file comes with its lock (one cutover
// serves one state file), etcd with none (several instances share it by design).

import type { StateConfig } from '../config/state-schema.ts';
import type { EtcdStore } from './etcd-store.ts';
import { createStateDirectory, SqliteStore } from './sqlite-store.ts';
import { StateLock } from './state-lock.ts';
import type { StateStore } from './state-store.ts';

export interface OpenedStore {
  readonly store: StateStore;
  /** The same store when it is etcd (what a fleet of instances needs); null for SQLite. */
  readonly etcd: EtcdStore | null;
  readonly lock: StateLock | null;
}

export interface OpenStoreOptions {
  /** The pid of a cutover handing over to this one: its lock on the state file passes to this process. */
  readonly handoverFrom?: number | null;
}

export async function openStore(state: StateConfig, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if ('etcd' in state) {
    // Loaded only when asked for: the etcd client costs about 25 MB and some startup time in every process.
    const { EtcdStore } = await import('./etcd-store.ts');
    const etcd = await EtcdStore.open(state.etcd);
    return { store: etcd, etcd, lock: null };
  }
  if (state.sqlite === ':memory:') return { store: await SqliteStore.open(state.sqlite), etcd: null, lock: null };
  // The lock file lives beside the state file: its directory must exist first (a fresh checkout has none).
  createStateDirectory(state.sqlite);
  const lock = StateLock.acquire(state.sqlite, options.handoverFrom ?? null);
  try {
    return { store: await SqliteStore.open(state.sqlite), etcd: null, lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

// The embedded default store: one SQLite file on this machine, through better-sqlite3.
// better-sqlite3 is synchronous. A write commits at once and resolves once its commit is on disk: the write-ahead
// log is flushed on libuv's thread pool (wal-sync.ts), so commits do not hold the event loop for the disk.

import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { RevisionConflictError, StoreUnavailableError } from '../core/errors.ts';
import { TERMINAL_PHASES, type AppRecord, type DeploymentRecord } from '../core/types.ts';
import type { AuditQuery, AuditRecord } from './audit-record.ts';
import type { PutAppOptions, StateStore } from './state-store.ts';
import { WalSync, type FileSync } from './wal-sync.ts';

/** How long a write waits for another connection's lock (a second process, a backup) before giving up. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface SqliteStoreOptions {
  /** Default SQLITE_BUSY_TIMEOUT_MS. */
  readonly busyTimeoutMs?: number;
  /** How the write-ahead log is flushed to disk; default fdatasync on the thread pool (tests watch it). */
  readonly syncFile?: FileSync;
}

/** What the connection is actually running with, read back from SQLite (for status output and tests). */
export interface SqliteStoreInfo {
  readonly path: string;
  readonly journalMode: string;
  readonly synchronous: string;
  readonly busyTimeoutMs: number;
  readonly schemaVersion: number;
}

export class SqliteStore implements StateStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #compareAndSwap: CompareAndSwap;
  readonly #wal: WalSync;
  #closed = false;

  /**
   * Opens (creating the file and its directory if needed) and migrates the store at `path`; `:memory:` is a
   * database that lives as long as the store, with nothing to flush.
   */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const inMemory = path === ':memory:';
    const absolute = inMemory ? path : resolve(path);
    let db: Database.Database | undefined;
    let wal: WalSync | undefined;
    try {
      if (!inMemory) createStateDirectory(absolute);
      db = new Database(absolute);
      configure(db, options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS);
      migrate(db, absolute);
      // The WAL exists from here (the migration's transaction opened it) until the connection closes, beside the
      // database file itself (a symbolic link's target).
      wal = await WalSync.open(`${inMemory ? absolute : realpathSync(absolute)}-wal`, inMemory ? async () => {} : options.syncFile);
      const store = new SqliteStore(absolute, db, wal);
      await store.#flushed('open');
      return store;
    } catch (err) {
      await wal?.close().catch(() => {});
      db?.close();
      throw translate(err, `cannot open the SQLite store at ${absolute}`);
    }
  }

  private constructor(path: string, db: Database.Database, wal: WalSync) {
    this.path = path;
    this.#db = db;
    this.#sql = prepareStatements(db);
    this.#compareAndSwap = compareAndSwapTransaction(db, this.#sql);
    this.#wal = wal;
  }

  async listApps(): Promise<AppRecord[]> {
    return this.#guard('list apps', () => this.#sql.listApps.all().map(parseApp));
  }

  async getApp(name: string): Promise<AppRecord | null> {
    return this.#guard(`read app "${name}"`, () => parseOrNull(this.#sql.getApp.get(name), parseApp));
  }

  async putApp(app: AppRecord, expectedRevision: number, options: PutAppOptions = {}): Promise<AppRecord> {
    const { deployment = null } = options;
    // IMMEDIATE takes the write lock before the read, so no other connection can slip in between check and write.
    const commit = () => parseApp(this.#compareAndSwap.immediate(app, expectedRevision, deployment));
    return this.#write(`write app "${app.name}"`, commit, options.onCommitted);
  }

  async deleteApp(name: string): Promise<void> {
    await this.#write(`delete app "${name}"`, () => this.#sql.deleteApp.run(name));
  }

  async putDeployment(deployment: DeploymentRecord): Promise<void> {
    await this.#write(`write deployment "${deployment.id}"`, () => writeDeployment(this.#sql, deployment));
  }

  async getDeployment(id: string): Promise<DeploymentRecord | null> {
    return this.#guard(`read deployment "${id}"`, () =>
      parseOrNull(this.#sql.getDeployment.get(id), parseDeployment),
    );
  }

  async listDeployments(app: string, limit: number): Promise<DeploymentRecord[]> {
    return this.#guard(`list deployments of app "${app}"`, () =>
      this.#sql.listDeployments.all(app, sqlLimit(limit)).map(parseDeployment),
    );
  }

  async listOpenDeployments(): Promise<DeploymentRecord[]> {
    return this.#guard('list open deployments', () => this.#sql.listOpenDeployments.all().map(parseDeployment));
  }

  async putAudit(entry: AuditRecord): Promise<void> {
    await this.#write(`write an audit entry of ${entry.action}`, () => this.#sql.putAudit.run(entry.at, entry.app, JSON.stringify(entry)));
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#guard('list the audit trail', () => {
      const rows = query.app === undefined
        ? this.#sql.listAudit.all(sqlLimit(query.limit))
        : this.#sql.listAuditOfApp.all(query.app, sqlLimit(query.limit));
      return rows.map((json) => JSON.parse(json) as AuditRecord);
    });
  }

  async info(): Promise<SqliteStoreInfo> {
    return this.#guard('read settings', () => ({
      path: this.path,
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_NAMES[Number(this.#db.pragma('synchronous', { simple: true }))] ?? 'unknown',
      busyTimeoutMs: Number(this.#db.pragma('busy_timeout', { simple: true })),
      schemaVersion: Number(this.#db.pragma('user_version', { simple: true })),
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#wal.close();
    this.#db.close();
  }

  /** Waits until every commit so far is on disk. */
  async #flushed(action: string): Promise<void> {
    try {
      await this.#wal.sync();
    } catch (err) {
      throw translate(err, `cannot ${action} in the SQLite store at ${this.path}: its write-ahead log could not be flushed to disk`);
    }
  }

  /**
   * A write: `commit` runs (one transaction), `onCommitted` is told its result, and it resolves once that is on
   * disk. Refused before it commits once a flush failed: it could take effect (a switch) and then not be on disk
   * either. Reads go on.
   */
  async #write<T>(action: string, commit: () => T, onCommitted?: (result: T) => void): Promise<T> {
    const failure = this.#wal.failure;
    if (failure !== null) throw new StoreUnavailableError(`cannot ${action} in the SQLite store at ${this.path}: ${failure.message}`, { cause: failure });
    const result = this.#guard(action, commit);
    try {
      onCommitted?.(result);
    } finally {
      await this.#flushed(action);
    }
    return result;
  }

  #guard<T>(action: string, work: () => T): T {
    if (this.#closed) throw new StoreUnavailableError(`cannot ${action}: the SQLite store at ${this.path} is closed`);
    try {
      return work();
    } catch (err) {
      throw translate(err, `cannot ${action} in the SQLite store at ${this.path}`);
    }
  }
}

// Index = the value `PRAGMA synchronous` reports.
const SYNCHRONOUS_NAMES = ['off', 'normal', 'full', 'extra'];

/**
 * MIGRATIONS[i] takes a file from `PRAGMA user_version` i to i + 1; the schema version is MIGRATIONS.length.
 * Append only: never edit a step that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  // STRICT tables and json_valid keep a bad write from being stored and discovered only at the next read.
  `CREATE TABLE apps (
     name TEXT PRIMARY KEY,
     revision INTEGER NOT NULL,
     record TEXT NOT NULL CHECK (json_valid(record))
   ) STRICT;
   CREATE TABLE deployments (
     id TEXT PRIMARY KEY,
     app TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     phase TEXT NOT NULL,
     record TEXT NOT NULL CHECK (json_valid(record))
   ) STRICT;
   CREATE INDEX deployments_by_app ON deployments (app, created_at);`,
  // seq is an alias of the rowid, which VACUUM keeps only when it is declared: it orders entries of one millisecond.
  `CREATE TABLE audit (
     seq INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     app TEXT,
     record TEXT NOT NULL CHECK (json_valid(record))
   ) STRICT;
   CREATE INDEX audit_by_time ON audit (at, seq);
   CREATE INDEX audit_by_app ON audit (app, at, seq);`,
];

interface Statements {
  listApps: Database.Statement<[], string>;
  getApp: Database.Statement<[string], string>;
  getAppRevision: Database.Statement<[string], number>;
  putApp: Database.Statement<[string, number, string]>;
  deleteApp: Database.Statement<[string]>;
  putDeployment: Database.Statement<[string, string, number, string, string]>;
  getDeployment: Database.Statement<[string], string>;
  listDeployments: Database.Statement<[string, number], string>;
  listOpenDeployments: Database.Statement<[], string>;
  putAudit: Database.Statement<[number, string | null, string]>;
  listAudit: Database.Statement<[number], string>;
  listAuditOfApp: Database.Statement<[string, number], string>;
}

function prepareStatements(db: Database.Database): Statements {
  // Phases are our own constants, never user input, so inlining them as literals is safe.
  const terminal = [...TERMINAL_PHASES].map((phase) => `'${phase}'`).join(', ');
  return {
    listApps: db.prepare<[], string>('SELECT record FROM apps ORDER BY name').pluck(),
    getApp: db.prepare<[string], string>('SELECT record FROM apps WHERE name = ?').pluck(),
    getAppRevision: db.prepare<[string], number>('SELECT revision FROM apps WHERE name = ?').pluck(),
    putApp: db.prepare<[string, number, string]>(
      `INSERT INTO apps (name, revision, record) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, record = excluded.record`,
    ),
    deleteApp: db.prepare<[string]>('DELETE FROM apps WHERE name = ?'),
    putDeployment: db.prepare<[string, string, number, string, string]>(
      `INSERT INTO deployments (id, app, created_at, phase, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET app = excluded.app, created_at = excluded.created_at,
         phase = excluded.phase, record = excluded.record`,
    ),
    getDeployment: db.prepare<[string], string>('SELECT record FROM deployments WHERE id = ?').pluck(),
    // rowid breaks ties between deployments created in the same millisecond: the later insert is newer.
    listDeployments: db
      .prepare<[string, number], string>(
        'SELECT record FROM deployments WHERE app = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
      )
      .pluck(),
    listOpenDeployments: db
      .prepare<[], string>(
        `SELECT record FROM deployments WHERE phase NOT IN (${terminal}) ORDER BY created_at, rowid`,
      )
      .pluck(),
    putAudit: db.prepare<[number, string | null, string]>('INSERT INTO audit (at, app, record) VALUES (?, ?, ?)'),
    listAudit: db.prepare<[number], string>('SELECT record FROM audit ORDER BY at DESC, seq DESC LIMIT ?').pluck(),
    listAuditOfApp: db
      .prepare<[string, number], string>('SELECT record FROM audit WHERE app = ? ORDER BY at DESC, seq DESC LIMIT ?')
      .pluck(),
  };
}

type CompareAndSwap = Database.Transaction<(app: AppRecord, expected: number, deployment: DeploymentRecord | null) => string>;

/** Returns the JSON as stored, so the caller gets a fresh copy that carries the new revision. */
function compareAndSwapTransaction(db: Database.Database, sql: Statements): CompareAndSwap {
  return db.transaction((app: AppRecord, expected: number, deployment: DeploymentRecord | null) => {
    const actual = sql.getAppRevision.get(app.name) ?? 0;
    if (actual !== expected) throw new RevisionConflictError(`app "${app.name}"`, expected, actual);
    const json = JSON.stringify({ ...app, revision: expected + 1 });
    sql.putApp.run(app.name, expected + 1, json);
    if (deployment !== null) writeDeployment(sql, deployment);
    return json;
  });
}

function writeDeployment(sql: Statements, d: DeploymentRecord): void {
  sql.putDeployment.run(d.id, d.app, d.createdAt, d.phase, JSON.stringify(d));
}

/**
 * Creates the directory of the state file at `path` (and its parents) if needed; the state lock beside it needs it
 * first. mkdir's own message for a file in the way is "EEXIST ... mkdir '<the file>'", which reads like a success.
 */
export function createStateDirectory(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const reason = (err as Error).message;
    throw new StoreUnavailableError(
      `cannot open the SQLite store at ${path}: cannot create its directory ${dir} (is a file in the way?): ${reason}`,
      { cause: err },
    );
  }
}

function configure(db: Database.Database, busyTimeoutMs: number): void {
  // busy_timeout first, so that switching to WAL waits for a lock held by another process instead of failing.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  // WAL lets readers (status, history) run during a write. NORMAL: a commit is in the WAL (it survives a crash of
  // this process) without SQLite's fsync, which would hold the event loop; every write method flushes the WAL on
  // the thread pool before it resolves, so a transition reported persisted survives a power cut too. SQLite still
  // syncs the WAL itself before each checkpoint copies it into the database.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}

function migrate(db: Database.Database, path: string): void {
  // IMMEDIATE: two processes opening a fresh file at once must not both run the same step.
  db.transaction(() => {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > MIGRATIONS.length) {
      throw new StoreUnavailableError(
        `cannot open the SQLite store at ${path}: the file is at schema version ${version}, written by a newer ` +
          `cutover; this one knows versions up to ${MIGRATIONS.length}`,
      );
    }
    if (version === MIGRATIONS.length) return;
    for (let step = version; step < MIGRATIONS.length; step++) db.exec(MIGRATIONS[step]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/**
 * SQLite and file-system failures mean the store cannot serve: STORE_UNAVAILABLE, with the original as cause. Our
 * own typed errors (a revision conflict) pass through, and so does anything else, which is a bug rather than an
 * outage and should surface as INTERNAL.
 */
function translate(err: unknown, context: string): unknown {
  if (!(err instanceof Database.SqliteError) && !isSystemError(err)) return err;
  return new StoreUnavailableError(`${context}: ${(err as Error).message}`, { cause: err });
}

function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function parseApp(json: string): AppRecord {
  return JSON.parse(json) as AppRecord;
}

function parseDeployment(json: string): DeploymentRecord {
  return JSON.parse(json) as DeploymentRecord;
}

function parseOrNull<T>(json: string | undefined, parse: (json: string) => T): T | null {
  return json === undefined ? null : parse(json);
}

/** A limit that is not a finite number means "no limit", which SQLite spells -1. */
function sqlLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : -1;
}

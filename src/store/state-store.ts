import type { AppRecord, DeploymentRecord } from '../core/types.ts';
import type { AuditQuery, AuditRecord } from './audit-record.ts';

/**
 * Durable state of every app and deployment, and the audit trail of control actions. Every method is async so that a networked store (etcd) fits the same
 * shape as the embedded one (SQLite). Records are plain data; the store never keeps a reference to them.
 */
export interface PutAppOptions {
  /**
   * Gets the stored record as soon as the write is committed: readable, and kept if cutover is killed, though
   * perhaps not yet on disk (the SQLite store flushes it meanwhile), so a switch takes effect without waiting for
   * the disk and is answered only once it is there.
   */
  readonly onCommitted?: (stored: AppRecord) => void;
  /** Stored in the same commit as the app, as putDeployment would: both or neither (a flip and its history). */
  readonly deployment?: DeploymentRecord;
}

export interface StateStore {
  /** Every stored app, in name order. */
  listApps(): Promise<AppRecord[]>;
  getApp(name: string): Promise<AppRecord | null>;
  /**
   * Writes `app` if the stored revision still equals `expectedRevision` (0 for an app not stored yet) and returns
   * the record as stored, with its new revision, once it is durable. Throws RevisionConflictError when another
   * writer came first.
   */
  putApp(app: AppRecord, expectedRevision: number, options?: PutAppOptions): Promise<AppRecord>;
  deleteApp(name: string): Promise<void>;

  /** Inserts a new deployment or replaces the stored one with the same id. */
  putDeployment(deployment: DeploymentRecord): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRecord | null>;
  /** Deployments of one app, newest first. */
  listDeployments(app: string, limit: number): Promise<DeploymentRecord[]>;
  /** Deployments of every app that have not reached a terminal phase. */
  listOpenDeployments(): Promise<DeploymentRecord[]>;

  /** Appends one entry to the audit trail; entries are never changed afterwards. */
  putAudit(entry: AuditRecord): Promise<void>;
  /** Audit entries, newest first (by `at`, then by the order they were put), up to `query.limit`. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

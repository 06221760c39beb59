import type { Logger } from '../core/logger.ts';
import type { AuditQuery, AuditRecord } from '../store/audit-record.ts';
import type { StateStore } from '../store/state-store.ts';

/** The part of a StateStore the audit trail uses. */
export type AuditStore = Pick<StateStore, 'putAudit' | 'listAudit'>;

export interface AuditLogOptions {
  readonly store: AuditStore;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Entries the memory-only trail keeps: like the event hub's ring, enough for a session, bounded for a long one. */
export const MEMORY_AUDIT_ENTRIES = 1_000;

/**
 * The trail of control actions on the admin API: every deploy, switch, rollback, pause, resume and reload, with who
 * asked, when, and how it ended, refusals included.
 */
export class AuditLog {
  readonly now: () => number;

  constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Stores one entry. Never throws: the action it records has already happened (or failed), and its answer must
   * say so; a store that cannot take the entry is logged as an error instead.
   */
  async record(entry: AuditRecord): Promise<void> {
    try {
      await this.options.store.putAudit(entry);
    } catch (err) {
      this.options.log.error({ err, audit: entry }, `could not store the audit entry of ${entry.action} by ${entry.who}`);
    }
  }

  list(query: AuditQuery): Promise<AuditRecord[]> {
    return this.options.store.listAudit(query);
  }
}

/** An AuditStore in memory, for an admin API built without a state store; the newest MEMORY_AUDIT_ENTRIES only. */
export class MemoryAuditStore implements AuditStore {
  private readonly entries: AuditRecord[] = [];

  async putAudit(entry: AuditRecord): Promise<void> {
    this.entries.push({ ...entry });
    if (this.entries.length > MEMORY_AUDIT_ENTRIES) this.entries.shift();
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const newestFirst = this.entries
      .map((entry, i) => ({ entry, i }))
      .filter(({ entry }) => query.app === undefined || entry.app === query.app)
      .sort((a, b) => b.entry.at - a.entry.at || b.i - a.i);
    return newestFirst.slice(0, Math.max(0, query.limit)).map(({ entry }) => ({ ...entry }));
  }
}

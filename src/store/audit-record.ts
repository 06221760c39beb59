// One control action as the audit trail keeps it: who did what to which app, when, and how it ended. Deployments
// keep their own history with phases; the audit trail is the one list of every call that changed something.

export type AuditAction = 'deploy' | 'switch' | 'rollback' | 'pause' | 'resume' | 'reload';

export interface AuditRecord {
  /** When the call came in (epoch ms). */
  readonly at: number;
  /** `token:NAME` for a call with a token; `local`, or `local (HINT)` with the caller's own unchecked hint. */
  readonly who: string;
  readonly action: AuditAction;
  /** Null for an action on cutover itself (reload). */
  readonly app: string | null;
  /** `ok`, or the code of the error the call was refused or failed with (FORBIDDEN, BUSY, NOT_HEALTHY, ...). */
  readonly outcome: string;
  /** What was asked and what came of it, as a sentence: "v2 to green, deployment d-…", or the error message. */
  readonly detail: string;
}

export interface AuditQuery {
  readonly limit: number;
  /** Only this app's entries; absent: every entry. */
  readonly app?: string;
}

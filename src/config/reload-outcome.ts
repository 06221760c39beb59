// What a config reload changed, as the admin API answers it and the audit trail records it, whoever asked (an API
// call or SIGHUP).

export interface ReloadOutcome {
  readonly added: string[];
  readonly removed: string[];
  /** Settings that changed in the file but only take effect at the next start. */
  readonly needsRestart: string[];
}

/** One line for the audit trail: `added: api; needs a restart: listen`, or that nothing was added or removed. */
export function describeReload(outcome: ReloadOutcome): string {
  const parts = [['added', outcome.added], ['removed', outcome.removed], ['needs a restart', outcome.needsRestart]] as const;
  const changes = parts.filter(([, names]) => names.length > 0).map(([what, names]) => `${what}: ${names.join(', ')}`);
  return changes.join('; ') || 'no app added or removed';
}

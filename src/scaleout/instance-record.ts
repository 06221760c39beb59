import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { InstanceRecord } from '../core/types.ts';

// The record itself is in core/types.ts: the admin API lists it too.

/** The instance's own fields, fixed for its lifetime. */
export type InstanceIdentity = Pick<InstanceRecord, 'id' | 'host' | 'pid' | 'adminUrl' | 'proxyUrl' | 'startedAt'>;

export function newIdentity(urls: { adminUrl: string; proxyUrl: string }, now: number): InstanceIdentity {
  // Short enough to read in `cutover status`, random enough for a fleet; a restarted process is a new instance.
  const id = `${hostname().split('.')[0]}-${randomBytes(3).toString('hex')}`;
  return { id, host: hostname(), pid: process.pid, ...urls, startedAt: now };
}

export function parseInstance(json: string): InstanceRecord | null {
  try {
    const value = JSON.parse(json) as InstanceRecord;
    return typeof value?.id === 'string' ? value : null;
  } catch {
    return null;
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, type Logger } from '../core/logger.ts';
import { StoreUnavailableError } from '../core/errors.ts';
import type { AuditRecord } from '../store/audit-record.ts';
import { AuditLog, MEMORY_AUDIT_ENTRIES, MemoryAuditStore, type AuditStore } from './audit-log.ts';

function entry(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { at: 1_000, who: 'token:ci', action: 'switch', app: 'web', outcome: 'ok', detail: 'green is live (v2)', ...overrides };
}

test('the memory store lists newest first, by app, up to the limit, and keeps only the newest entries', async () => {
  const store = new MemoryAuditStore();
  for (const [detail, at, app] of [['b', 2_000, 'web'], ['a', 1_000, 'web'], ['r', 3_000, null], ['s', 3_000, 'api']] as const) {
    await store.putAudit(entry({ detail, at, app }));
  }
  const details = (list: AuditRecord[]) => list.map((e) => e.detail);
  assert.deepEqual(details(await store.listAudit({ limit: 10 })), ['s', 'r', 'b', 'a']);
  assert.deepEqual(details(await store.listAudit({ limit: 10, app: 'web' })), ['b', 'a']);
  assert.deepEqual(details(await store.listAudit({ limit: 1 })), ['s']);
  for (let i = 0; i < MEMORY_AUDIT_ENTRIES; i++) await store.putAudit(entry({ at: 10_000 + i }));
  const all = await store.listAudit({ limit: Infinity });
  assert.equal(all.length, MEMORY_AUDIT_ENTRIES);
  assert.equal(all.at(-1)!.at, 10_000);
});

test('a store that fails is logged, and the action is not failed for it', async () => {
  const errors: string[] = [];
  const log: Logger = { ...silentLogger, error: (_: object | string, message?: string) => void errors.push(message ?? '') };
  const broken: AuditStore = {
    putAudit: async () => { throw new StoreUnavailableError('the disk is gone'); },
    listAudit: async () => [],
  };
  const audit = new AuditLog({ store: broken, log, now: () => 42 });
  await audit.record(entry({ action: 'pause', who: 'local' }));
  assert.deepEqual(errors, ['could not store the audit entry of pause by local']);
  assert.equal(audit.now(), 42);
});

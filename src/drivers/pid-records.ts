// The processes a ProcessDriver started, on disk, so that the next cutover run can adopt what still runs and
// kill what nobody claims. Written whole on every change: temp file + rename, so a crash leaves the old or the
// new list, never half of one. Synchronous on purpose: a few hundred bytes, written when instances start or stop.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Color } from '../core/types.ts';

export interface PidRecord {
  readonly app: string;
  readonly color: Color;
  readonly version: string;
  readonly index: number;
  readonly port: number;
  readonly pid: number;
  /** `/proc/<pid>/stat` field 22 (or `ps -o lstart` elsewhere): tells our process from a later one with its pid. */
  readonly startTime: string;
  readonly startedAt: number;
}

const FORMAT = 1;

/** The record file of one app; its directory must exist (the driver creates it). */
export class PidRecords {
  constructor(readonly path: string) {}

  /** The records of the previous run; an unreadable file counts as empty and is reported through `onBadFile`. */
  read(onBadFile: (reason: string) => void): PidRecord[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onBadFile((err as Error).message);
      return [];
    }
    try {
      const parsed = JSON.parse(text) as { instances?: unknown };
      return Array.isArray(parsed.instances) ? parsed.instances.filter(isRecord) : [];
    } catch (err) {
      onBadFile(`not JSON: ${(err as Error).message}`);
      return [];
    }
  }

  write(records: readonly PidRecord[]): void {
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ format: FORMAT, instances: records }, null, 2) + '\n');
    renameSync(temp, this.path);
  }
}

function isRecord(value: unknown): value is PidRecord {
  const r = value as Partial<PidRecord> | null;
  return (
    typeof r?.app === 'string' &&
    (r.color === 'blue' || r.color === 'green') &&
    typeof r.version === 'string' &&
    Number.isInteger(r.index) &&
    Number.isInteger(r.port) &&
    Number.isInteger(r.pid) &&
    r.pid! > 1 &&
    typeof r.startTime === 'string' &&
    typeof r.startedAt === 'number'
  );
}

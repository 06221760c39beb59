import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { CutoverError } from '../core/errors.ts';
import { isRunning } from '../core/process-liveness.ts';

/**
 * One `cutover serve` per state file. A second one would adopt the first one's processes and stop them on its way
 * out. The lock is a file beside the state holding the owner's pid; a lock whose owner is gone (kill -9) is taken
 * over.
 */
export class StateLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock; `from` is the pid of a cutover handing over to this one, whose lock passes to this process. */
  static acquire(statePath: string, from: number | null = null): StateLock {
    const path = `${statePath}.lock`;
    if (from !== null && ownerOf(path) === from) {
      writeAtomically(path);
      return new StateLock(path);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new StateLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = ownerOf(path);
        if (owner !== null && owner !== process.pid && isRunning(owner)) {
          throw new CutoverError('STATE_LOCKED', 409, `another cutover (pid ${owner}) is serving with ${statePath}; stop it first, or give this one its own state file`);
        }
        unlinkSync(path);
      }
    }
    throw new CutoverError('STATE_LOCKED', 409, `cannot take the lock ${path}`);
  }

  /** Writes this process's pid into the lock again (a successor that took it failed). */
  reclaim(): void {
    writeAtomically(this.path);
  }

  release(): void {
    try {
      if (ownerOf(this.path) === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/** Replaces the lock's content in one rename, so a reader never sees it half written. */
function writeAtomically(path: string): void {
  const temp = `${path}.${process.pid}`;
  writeFileSync(temp, String(process.pid));
  renameSync(temp, path);
}

function ownerOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

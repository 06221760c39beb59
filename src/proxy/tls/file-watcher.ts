// Notices that files changed: fs.watch on their directories for promptness, plus a periodic stat for what fs.watch
// misses (network file systems, some container volume mounts). Watching the directory rather than the file
// survives the usual ways of replacing one: a rename over it, or the symlink swap Kubernetes uses for mounted
// secrets (the event then names `..data`, not the file, so every event leads to a stat of every file).

import { type FSWatcher, statSync, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileWatcherOptions {
  readonly files: readonly string[];
  /** Called with the files that look different since the last call; the next check waits for it to settle. */
  readonly onChange: (changed: readonly string[]) => Promise<void> | void;
  /** Editors and `cp` write a file in several steps; events are gathered this long before the files are compared. */
  readonly debounceMs?: number;
  readonly pollMs?: number;
}

export const DEFAULT_DEBOUNCE_MS = 200;
export const DEFAULT_POLL_MS = 10_000;

export class FileWatcher {
  private readonly signatures = new Map<string, string>();
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  /** Checks run one after another, so two never report the same change. */
  private checks: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: FileWatcherOptions) {}

  /** Remembers how the files look now; later changes are measured against this. */
  start(): void {
    for (const file of this.options.files) this.signatures.set(file, signatureSync(file));
    for (const dir of new Set(this.options.files.map((f) => dirname(f)))) this.watchDirectory(dir);
    this.poll = setInterval(this.checkFromTimer, this.options.pollMs ?? DEFAULT_POLL_MS).unref();
  }

  /** Compares every file with how it looked at the last check, and reports those that differ. */
  check(): Promise<void> {
    const next = this.checks.then(() => this.compare());
    // One failed check (onChange threw) must not stop the ones after it.
    this.checks = next.catch(() => {});
    return next;
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    if (this.debounce !== null) clearTimeout(this.debounce);
    if (this.poll !== null) clearInterval(this.poll);
  }

  private watchDirectory(dir: string): void {
    try {
      const watcher = watch(dir, { persistent: false }, this.soon);
      // A directory that goes away (or a watch the OS takes back) leaves the periodic check to notice changes.
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // No watch possible here (no such directory yet, or no inotify handles left): the periodic check covers it.
    }
  }

  private readonly soon = (): void => {
    if (this.closed) return;
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = setTimeout(this.checkFromTimer, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS).unref();
  };

  /** onChange reports its own failures; a timer has no one to tell. */
  private readonly checkFromTimer = (): void => {
    this.check().catch(() => {});
  };

  private async compare(): Promise<void> {
    if (this.closed) return;
    const changed: string[] = [];
    for (const file of this.options.files) {
      const now = await signature(file);
      if (now !== this.signatures.get(file)) changed.push(file);
      this.signatures.set(file, now);
    }
    if (changed.length > 0 && !this.closed) await this.options.onChange(changed);
  }
}

// Inode, size and both times: a replaced file has a new inode, an edited one a new mtime or size, and ctime catches
// a rewrite within the mtime's resolution.
function signatureSync(file: string): string {
  try {
    return describe(statSync(file));
  } catch (err) {
    return `missing: ${(err as NodeJS.ErrnoException).code}`;
  }
}

async function signature(file: string): Promise<string> {
  try {
    return describe(await stat(file));
  } catch (err) {
    return `missing: ${(err as NodeJS.ErrnoException).code}`;
  }
}

function describe(s: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

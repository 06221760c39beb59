// The SQLite store commits with `synchronous = NORMAL`: a commit is appended to the write-ahead log (kept if
// cutover is killed, as the page cache outlives the process) and SQLite itself does not fsync it. WalSync does, on
// libuv's thread pool, so the event loop (and with one process, the data path) never waits for the disk. Commits
// that land while an fsync is under way share the next one.

import { open, type FileHandle } from 'node:fs/promises';

/** Flushes one file to disk; resolves when it is there. */
export type FileSync = (path: string) => Promise<void>;

export class WalSync {
  /** The fsync under way, if any. */
  #running: Promise<void> | null = null;
  /** The fsync that starts when the running one ends: it covers every commit made after that one started. */
  #next: Promise<void> | null = null;
  /** Kept open: one trip to the thread pool per flush. SQLite removes the WAL only when its last connection closes. */
  #file: FileHandle | null = null;
  readonly #syncFile: FileSync;

  /** `syncFile`: how to flush instead of fdatasync of `path` (tests). */
  constructor(readonly path: string, syncFile?: FileSync) {
    this.#syncFile = syncFile ?? (() => this.#datasync());
  }

  /** Resolves once every commit made before the call is on disk; rejects when the disk refused the flush. */
  sync(): Promise<void> {
    if (this.#running === null) return this.#start();
    // The running one may have started before the caller's commit, so only the next one is sure to cover it.
    this.#next ??= this.#running.then(noop, noop).then(() => {
      this.#next = null;
      return this.#start();
    });
    return this.#next;
  }

  /** After the last sync: closes the descriptor. */
  async close(): Promise<void> {
    await this.#running?.catch(noop);
    await this.#next?.catch(noop);
    const file = this.#file;
    this.#file = null;
    await file?.close();
  }

  #start(): Promise<void> {
    const run = this.#syncFile(this.path).finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }

  /**
   * fdatasync through a descriptor of its own: Linux flushes the file's dirty pages whoever wrote them. No WAL yet
   * (or any more: the last connection checkpointed it into the database and removed it): nothing to flush.
   */
  async #datasync(): Promise<void> {
    if (this.#file === null) {
      try {
        this.#file = await open(this.path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    await this.#file.datasync();
  }
}

function noop(): void {}

// The SQLite store commits with `synchronous = NORMAL`: a commit is appended to the write-ahead log (kept if
// cutover is killed, as the page cache outlives the process) and SQLite itself does not fsync it. WalSync does, on
// libuv's thread pool, so commits do not hold the event loop (and with one process, the data path) for the disk.
// Commits that land while an fsync is under way share the next one.

import { open, type FileHandle } from 'node:fs/promises';

/** Flushes one file to disk; resolves when it is there. */
export type FileSync = () => Promise<void>;

export class WalSync {
  /** The fsync under way, if any. */
  #running: Promise<void> | null = null;
  /** The fsync that starts when the running one ends: it covers every commit made after that one started. */
  #next: Promise<void> | null = null;
  /**
   * The first flush that failed. After it every sync fails too: Linux may drop the pages a failed fsync could not
   * write and report the next fsync clean, so nothing written since can be called durable.
   */
  #failed: Error | null = null;

  private constructor(
    readonly path: string,
    private readonly syncFile: FileSync,
    private readonly file: FileHandle | null,
  ) {}

  /**
   * Opens `path`, the WAL of a database in WAL mode (SQLite creates it with the connection and removes it only when
   * its last connection closes). `syncFile` replaces the fdatasync (tests).
   */
  static async open(path: string, syncFile?: FileSync): Promise<WalSync> {
    if (syncFile !== undefined) return new WalSync(path, syncFile, null);
    const file = await open(path, 'r');
    // Linux flushes the file's dirty pages whoever wrote them: this descriptor is enough, one trip per flush.
    return new WalSync(path, () => file.datasync(), file);
  }

  /** The first flush that failed, for good: the store takes no write after it. */
  get failure(): Error | null {
    return this.#failed;
  }

  /** Resolves once every commit made before the call is on disk; rejects when a flush failed, this or any before. */
  sync(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#next !== null) return this.#next;
    if (this.#running === null) return this.#start();
    // The running one may have started before the caller's commit, so only the next one is sure to cover it.
    this.#next = this.#running.then(noop, noop).then(() => {
      this.#next = null;
      return this.#start();
    });
    return this.#next;
  }

  /** After the last sync: waits for the flushes under way and queued, and closes the descriptor. */
  async close(): Promise<void> {
    await this.#next?.catch(noop);
    await this.#running?.catch(noop);
    await this.file?.close();
  }

  #start(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const run = this.syncFile().then(
      () => {
        if (this.#running === run) this.#running = null;
      },
      (err: NodeJS.ErrnoException) => {
        if (this.#running === run) this.#running = null;
        this.#failed ??= Object.assign(
          new Error(`a flush of ${this.path} failed earlier (${err.message}): what it held may not be on disk, so no write since counts as durable; restart cutover`, { cause: err }),
          { code: err.code, syscall: err.syscall ?? 'fdatasync' },
        );
        throw err;
      },
    );
    this.#running = run;
    return run;
  }
}

function noop(): void {}

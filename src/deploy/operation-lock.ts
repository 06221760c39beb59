import { BusyError } from '../core/errors.ts';

/** One control operation per app at a time. A second one is refused rather than queued behind the first. */
export class OperationLock {
  private holder: string | null = null;
  /** The holder is a switch or a rollback: milliseconds of work, worth waiting for rather than refusing. */
  private brief = false;
  /** Told when the lock is released: calls waiting a moment for it (`whenFree`). */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly app: string) {}

  get busyWith(): string | null {
    return this.holder;
  }

  /** Held by an operation taken as `brief` (a flip). */
  get heldBriefly(): boolean {
    return this.holder !== null && this.brief;
  }

  /**
   * Takes the lock for `operation` (`brief`: it holds it for milliseconds, see heldBriefly); throws BusyError when it
   * is held. Returns the release function.
   */
  acquire(operation: string, { brief = false }: { brief?: boolean } = {}): () => void {
    if (this.holder !== null) throw new BusyError(this.app, this.holder);
    this.holder = operation;
    this.brief = brief;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holder = null;
      this.brief = false;
      for (const wake of [...this.waiters]) wake();
    };
  }

  /**
   * Resolves once the lock is free, or after `ms` when it is still held. Several callers may wake at once: the
   * first to `acquire` gets it, the others are refused as usual.
   */
  whenFree(ms: number): Promise<void> {
    if (this.holder === null) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

import { BusyError } from '../core/errors.ts';

/** One control operation per app at a time. A second one is refused rather than queued behind the first. */
export class OperationLock {
  private holder: string | null = null;
  /** Told when the lock is released: calls waiting a moment for it (`whenFree`). */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly app: string) {}

  get busyWith(): string | null {
    return this.holder;
  }

  /** Takes the lock for `operation`; throws BusyError when it is held. Returns the release function. */
  acquire(operation: string): () => void {
    if (this.holder !== null) throw new BusyError(this.app, this.holder);
    this.holder = operation;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holder = null;
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

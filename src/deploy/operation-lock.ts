import { BusyError } from '../core/errors.ts';

/** One control operation per app at a time. A second one is refused at once rather than queued behind the first. */
export class OperationLock {
  private holder: string | null = null;

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
    };
  }
}

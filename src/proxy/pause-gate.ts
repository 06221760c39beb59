import type { ServerResponse } from 'node:http';

/** Why a held request is refused: the queue is full, or this cutover is shutting down. */
export type Refusal = 'full' | 'closing';

/** A request held while its app is paused: `go` continues it, `refuse` answers it 503. */
export interface HeldRequest {
  readonly res: ServerResponse;
  go(): void;
  refuse(retryAfterSeconds: number, why: Refusal): void;
}

export const MAX_HELD_REQUESTS = 1_000;

/**
 * Holds an app's new requests while it is paused (for a migration that needs a quiet moment) and releases them
 * in arrival order when it resumes. The queue is bounded; past it a request is refused with 503 and Retry-After
 * rather than held. The pause itself is bounded by its `until` time, after which the controller resumes the app.
 */
export class PauseGate {
  private until: number | null = null;
  private readonly held: HeldRequest[] = [];
  /** Releases what is held at the pause's end, whether or not a route table saying so has come by then. */
  private ending: NodeJS.Timeout | null = null;
  /** This cutover is shutting down: nothing is held any more. */
  private closed = false;

  constructor(private readonly maxHeld = MAX_HELD_REQUESTS) {}

  /** Paused and not past the pause's end (the controller's resume may lag behind it a little). */
  get paused(): boolean {
    return this.until !== null && Date.now() < this.until;
  }

  /** The app left the route table: whatever it held goes on (and finds no app, or its new route). */
  dispose(): void {
    this.set(null);
  }

  /**
   * This cutover stops: what is held, and what comes while the pause lasts, is refused with the pause's time left
   * as Retry-After (the app stays paused for a migration; a client retries against what serves next).
   */
  close(now: number): void {
    this.closed = true;
    for (const request of this.held.splice(0, this.held.length)) request.refuse(this.secondsLeft(now), 'closing');
  }

  get waiting(): number {
    return this.held.length;
  }

  /** Pauses until `until` (epoch ms), or resumes and releases everything held when `until` is null. */
  set(until: number | null): void {
    if (this.ending !== null) clearTimeout(this.ending);
    this.ending = null;
    this.until = until;
    if (until === null) return this.release();
    this.ending = setTimeout(() => this.set(null), Math.max(0, until - Date.now()));
    this.ending.unref();
  }

  /** Holds `request`, or refuses it when the queue is full; past the pause's end it goes at once. */
  hold(request: HeldRequest, now: number): void {
    if (this.until === null || now >= this.until) return request.go();
    if (this.closed) return request.refuse(this.secondsLeft(now), 'closing');
    if (this.held.length >= this.maxHeld) return request.refuse(this.secondsLeft(now), 'full');
    this.held.push(request);
    request.res.once('close', () => {
      const i = this.held.indexOf(request);
      if (i >= 0) this.held.splice(i, 1);
    });
  }

  private secondsLeft(now: number): number {
    return Math.max(1, Math.ceil(((this.until ?? now) - now) / 1000));
  }

  private release(): void {
    const released = this.held.splice(0, this.held.length);
    for (const request of released) request.go();
  }
}

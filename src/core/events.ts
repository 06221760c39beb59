// Control-plane events travel up through this narrow interface; the admin API's event stream, the logs and
// (later) webhooks subscribe to the hub. Nothing here knows who listens.

export interface CutoverEvent {
  /** Assigned by the hub: increases by one per event, for Server-Sent Events' Last-Event-ID. */
  readonly id: number;
  readonly type: string;
  readonly at: number;
  readonly app?: string;
  readonly [field: string]: unknown;
}

export type EventInput = Omit<CutoverEvent, 'id' | 'at'> & { at?: number };

export interface EventSink {
  emit(event: EventInput): void;
}

export type EventListener = (event: CutoverEvent) => void;

/** What a client resuming after `lastId` missed: every event, or (when the hub no longer holds them) not. */
export type Resumption =
  | { readonly complete: true; readonly events: CutoverEvent[] }
  | { readonly complete: false; readonly latestId: number };

export const RECENT_EVENTS = 1_000;

export class EventHub implements EventSink {
  private nextId: number;
  private readonly listeners = new Set<EventListener>();
  private readonly recent: CutoverEvent[] = [];

  constructor(private readonly now: () => number = Date.now) {
    // Ids start at the clock's milliseconds rather than at 1, so an id from an earlier run of cutover (which
    // emitted fewer events than it lived milliseconds) is below every id of this one: a client resuming across a
    // restart learns that it missed events instead of silently skipping this run's first ones.
    this.nextId = Math.max(1, Math.floor(now()));
  }

  emit(input: EventInput): void {
    const event = { ...input, id: this.nextId++, at: input.at ?? this.now() } as CutoverEvent;
    this.recent.push(event);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    for (const listener of this.listeners) listener(event);
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after `id` still held in memory, oldest first. */
  since(id: number): CutoverEvent[] {
    return this.recent.filter((e) => e.id > id);
  }

  /**
   * For a client that saw every event up to `lastId` (SSE's Last-Event-ID): the events after it, when the hub still
   * holds all of them. Not when they fell out of the ring, nor for an id this run never gave (an earlier run's, or a
   * made-up one): then the client must fetch the state again, and resume from `latestId`.
   */
  resume(lastId: number): Resumption {
    const oldest = this.recent[0]?.id ?? this.nextId;
    if (!Number.isSafeInteger(lastId) || lastId < oldest - 1 || lastId >= this.nextId) {
      return { complete: false, latestId: this.nextId - 1 };
    }
    return { complete: true, events: this.since(lastId) };
  }
}

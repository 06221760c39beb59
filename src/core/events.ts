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

const RECENT_EVENTS = 1_000;

export class EventHub implements EventSink {
  private nextId = 1;
  private readonly listeners = new Set<EventListener>();
  private readonly recent: CutoverEvent[] = [];

  constructor(private readonly now: () => number = Date.now) {}

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
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CutoverEvent, EventHub } from '../core/events.ts';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/events`: Server-Sent Events of every control event. `Last-Event-ID` (or `?since=`) replays every
 * event after that id, in order, before the live ones; `?app=` keeps one app's events.
 *
 * When the events after that id are no longer held (more than the hub's ring happened since, or the id is from
 * an earlier run of cutover), the stream starts with `event: reset` instead: the client must fetch the state again
 * (`GET /api/apps`). The reset carries the latest id, so a reconnect after it resumes from there.
 */
export function serveEvents(req: IncomingMessage, res: ServerResponse, url: URL, hub: EventHub): void {
  const app = url.searchParams.get('app');
  const lastId = lastEventId(req, url);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  res.write(': cutover events\n\n');
  const send = (event: CutoverEvent): void => {
    if (app !== null && event.app !== app) return;
    res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  // Replay and subscribe in one synchronous step, so no event can fall between the two.
  if (lastId !== null) {
    const resumed = hub.resume(lastId);
    if (resumed.complete) resumed.events.forEach(send);
    else res.write(resetMessage(lastId, resumed.latestId));
  }
  const unsubscribe = hub.subscribe(send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

/** The id to resume after: Last-Event-ID, or `?since=`; NaN for one that is not an id of ours; null for none. */
function lastEventId(req: IncomingMessage, url: URL): number | null {
  const header = req.headers['last-event-id'];
  const raw = ((Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('since') ?? '').trim();
  if (raw === '') return null;
  return /^\d+$/.test(raw) ? Number(raw) : NaN;
}

function resetMessage(lastId: number, latestId: number): string {
  const reason = Number.isNaN(lastId)
    ? 'the Last-Event-ID is not an event id'
    : `the events after ${lastId} are no longer held; fetch the state again`;
  const data = JSON.stringify({ type: 'reset', id: latestId, reason });
  return `id: ${latestId}\nevent: reset\ndata: ${data}\n\n`;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CutoverEvent, EventHub } from '../core/events.ts';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/events`: Server-Sent Events of every control event. `Last-Event-ID` (or `?since=`) replays what the
 * hub still holds after that id; `?app=` keeps one app's events.
 */
export function serveEvents(req: IncomingMessage, res: ServerResponse, url: URL, hub: EventHub): void {
  const app = url.searchParams.get('app');
  const since = Number(req.headers['last-event-id'] ?? url.searchParams.get('since') ?? NaN);
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
  if (Number.isFinite(since)) hub.since(since).forEach(send);
  const unsubscribe = hub.subscribe(send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

// Follows GET /api/events for as long as the page is open. fetch() rather than EventSource, because EventSource
// cannot send the Authorization header. The first connection asks for everything the server still holds (it keeps
// the last 1000 events), to fill the page's event log; on a drop it reconnects with Last-Event-ID, so the server
// replays what was missed, backing off up to MAX_BACKOFF_MS.
import { authorizedFetch, NoTokenError } from './api.js';
import { SseParser } from './sse-parser.js';

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

/**
 * @param {{ onEvent: (event: object) => void, onState: (state: 'live' | 'reconnecting' | 'no-token', detail?: string) => void }} handlers
 */
export async function followEvents(handlers) {
  let lastId = '0';
  let backoff = FIRST_BACKOFF_MS;
  for (;;) {
    try {
      const headers = { accept: 'text/event-stream' };
      headers['last-event-id'] = lastId;
      const res = await authorizedFetch('/api/events', { headers });
      if (!res.ok || res.body === null) throw new Error(`the event stream answered ${res.status}`);
      handlers.onState('live');
      backoff = FIRST_BACKOFF_MS;
      const parser = new SseParser((e) => handlers.onEvent(parse(e)));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
        lastId = parser.lastId ?? lastId;
      }
      handlers.onState('reconnecting', 'the event stream ended');
    } catch (err) {
      if (err instanceof NoTokenError) {
        handlers.onState('no-token');
        return;
      }
      handlers.onState('reconnecting', err instanceof Error ? err.message : String(err));
    }
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

function parse({ type, data, id }) {
  try {
    return { ...JSON.parse(data), type, id: Number(id) };
  } catch {
    return { type, id: Number(id), data };
  }
}

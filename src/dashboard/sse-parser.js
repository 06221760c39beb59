// A Server-Sent Events parser for text that arrives in chunks, following the WHATWG HTML "event stream
// interpretation" rules. EventSource would do this itself, but it cannot send an Authorization header, so the
// page reads /api/events with fetch() and parses here.

/**
 * @typedef {{ type: string, data: string, id: string | null }} SseEvent
 */

export class SseParser {
  /** @param {(event: SseEvent) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.type = '';
    this.data = [];
    /** The last event id, kept across events as the spec says; sent back as Last-Event-ID on reconnect. */
    this.lastId = null;
    /** A chunk ended with CR: a LF starting the next one belongs to the same line break. */
    this.skipLf = false;
  }

  /** @param {string} chunk */
  push(chunk) {
    if (this.skipLf && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.skipLf = false;
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    // The last piece has no line break yet, unless the chunk ended with one (then it is '').
    this.buffer = lines.pop() ?? '';
    if (this.buffer === '' && chunk.endsWith('\r')) this.skipLf = true;
    for (const line of lines) this.line(line);
  }

  /** @param {string} line */
  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
  }

  dispatch() {
    const type = this.type || 'message';
    const data = this.data;
    this.type = '';
    this.data = [];
    if (data.length === 0) return;
    this.onEvent({ type, data: data.join('\n'), id: this.lastId });
  }
}

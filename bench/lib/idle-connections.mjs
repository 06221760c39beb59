// Many keep-alive client connections held open at once, for bench/memory.mjs: each sends a request, reads its
// response and then sits idle, until asked for one more request or closed. Raw sockets, so that 10,000 of them
// cost the bench little; a response is read as far as its head and a Content-Length body.
import { connect } from 'node:net';

/** A connection that has not got its response in this long counts as failed. */
const ANSWER_TIMEOUT_MS = 30_000;
/** Connections opened at once: more would only overflow the listener's backlog and retry SYNs. */
const OPEN_BATCH = 250;

export class IdleConnections {
  #sockets = new Set();
  #closing = false;

  constructor(url) {
    const { hostname, port } = new URL(url);
    this.host = hostname;
    this.port = Number(port);
    this.request = `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`;
    /** Why connections failed (connect errors, resets, closes by the server, timeouts, non-200s), by reason. */
    this.failures = new Map();
  }

  get open() {
    return this.#sockets.size;
  }

  get failed() {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }

  /** Opens `count` connections, each with one request answered; resolves once all have answered or failed. */
  async openMany(count) {
    for (let done = 0; done < count; done += OPEN_BATCH) {
      const batch = Math.min(OPEN_BATCH, count - done);
      await Promise.all(Array.from({ length: batch }, () => this.#openOne()));
    }
  }

  /** One more request on every connection still open; resolves with how many answered 200. */
  async askAll() {
    const results = await Promise.all([...this.#sockets].map((socket) => this.#ask(socket)));
    return results.filter(Boolean).length;
  }

  closeAll() {
    this.#closing = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  async #openOne() {
    const socket = connect({ host: this.host, port: this.port });
    socket.on('error', (err) => this.#fail(socket, err.code ?? err.message));
    socket.on('close', () => this.#fail(socket, 'closed by the server'));
    this.#sockets.add(socket);
    await this.#ask(socket);
  }

  /** Writes the request and waits for a whole 200 response; false (and the socket counted as failed) otherwise. */
  #ask(socket) {
    return new Promise((resolve) => {
      let text = '';
      const finish = (ok, why) => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onEnd);
        if (!ok) this.#fail(socket, why);
        resolve(ok);
      };
      const onData = (chunk) => {
        text += chunk.toString('latin1');
        const complete = responseComplete(text);
        if (complete !== null) finish(complete, `answered ${text.split('\r\n')[0]}`);
      };
      const onEnd = () => finish(false, 'closed before the response');
      const timer = setTimeout(() => finish(false, 'no response in time'), ANSWER_TIMEOUT_MS);
      socket.on('data', onData);
      socket.on('close', onEnd);
      socket.write(this.request);
    });
  }

  #fail(socket, why) {
    if (this.#closing || !this.#sockets.delete(socket)) return;
    socket.destroy();
    this.failures.set(why, (this.failures.get(why) ?? 0) + 1);
  }
}

/** null while the response is incomplete; then whether it was a 200. Reads Content-Length bodies only. */
function responseComplete(text) {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return null;
  const length = Number(text.slice(0, headEnd).match(/\r\ncontent-length:\s*(\d+)/i)?.[1] ?? 0);
  if (text.length - headEnd - 4 < length) return null;
  return text.startsWith('HTTP/1.1 200');
}

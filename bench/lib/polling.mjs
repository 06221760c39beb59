// Keep-alive clients polling the proxy, for bench/switch.mjs: which environment answered, and when.
import { Client } from 'undici';
import { sleep } from './http.mjs';

/** A poll the proxy has not answered in this long fails, so that stopping never waits on a wedged request. */
const POLL_TIMEOUT_MS = 10_000;

/**
 * `count` keep-alive clients, each sending GET / and waiting `gapMs` after each answer. Counts every response by body and status, finds
 * the first response from a given environment, and counts stale ones: responses from the old environment to
 * requests sent after the switch request had been answered (there should be none).
 */
export class Polling {
  #running = true;
  #watch = null;
  #fresh = null;
  #loops;

  constructor(url, count, gapMs = 0) {
    this.gapMs = gapMs;
    this.responses = 0;
    this.failures = [];
    this.stale = 0;
    this.clients = Array.from({ length: count }, () => new Client(url, { pipelining: 1, headersTimeout: POLL_TIMEOUT_MS, bodyTimeout: POLL_TIMEOUT_MS }));
    const answered = [];
    this.#loops = this.clients.map((client) => {
      let onAnswer;
      answered.push(new Promise((resolve) => (onAnswer = resolve)));
      return this.#poll(client, onAnswer);
    });
    /** Every client has had one answer: connections are open before any flip is timed. */
    this.started = Promise.all(answered);
  }

  /**
   * Starts a flip to `body`: `seen(ms)` resolves with the first response from it, `{ at }` (performance.now() when
   * it arrived here) and `{ arrivedNs }` (process.hrtime when its request reached the backend), or null after `ms`. Until `staleAfter` is called again, no response counts as stale: during a flip both are right.
   */
  watchFor(body) {
    let resolve;
    const seen = new Promise((r) => (resolve = r));
    this.#watch = { body, resolve };
    this.#fresh = null;
    return {
      seen: (ms) => {
        let timer;
        const timeout = new Promise((r) => (timer = setTimeout(() => r(null), ms)));
        return Promise.race([seen, timeout]).finally(() => clearTimeout(timer));
      },
    };
  }

  /** From `since` on (the switch was answered), a response to a request sent later must come from `body`. */
  staleAfter(body, since) {
    this.#fresh = { body, since };
  }

  async stop() {
    this.#running = false;
    await Promise.allSettled(this.#loops);
    await Promise.all(this.clients.map((client) => client.close().catch(() => client.destroy())));
  }

  async #poll(client, onAnswer) {
    while (this.#running) {
      await this.#one(client, performance.now());
      onAnswer();
      if (this.gapMs > 0) await sleep(this.gapMs);
    }
  }

  async #one(client, sentAt) {
    try {
      const { statusCode, headers, body } = await client.request({ path: '/', method: 'GET' });
      const text = await body.text();
      this.responses++;
      if (statusCode !== 200) return void this.failures.push(`status ${statusCode}`);
      const watch = this.#watch;
      if (watch !== null && text === watch.body) {
        this.#watch = null;
        watch.resolve({ at: performance.now(), arrivedNs: arrivedNs(headers) });
      }
      if (this.#fresh !== null && sentAt > this.#fresh.since && text !== this.#fresh.body) this.stale++;
    } catch (err) {
      this.failures.push(err.code ?? err.message);
      await sleep(10);
    }
  }
}

/** When the backend saw the request (its `x-arrived-ns`, process.hrtime in ns), or null without the header. */
function arrivedNs(headers) {
  const value = headers['x-arrived-ns'];
  return typeof value === 'string' ? BigInt(value) : null;
}

// Keep-alive clients polling the proxy back to back, for bench/switch.mjs: which environment answered, and when.
import { Client } from 'undici';
import { sleep } from './http.mjs';

/**
 * `count` keep-alive clients, each sending GET / back to back. Counts every response by body and status, finds
 * the first response from a given environment, and counts stale ones: responses from the old environment to
 * requests sent after the switch request had been answered (there should be none).
 */
export class Polling {
  #running = true;
  #watch = null;
  #fresh = null;
  #loops;

  constructor(url, count) {
    this.responses = 0;
    this.failures = [];
    this.stale = 0;
    this.clients = Array.from({ length: count }, () => new Client(url, { pipelining: 1 }));
    const answered = [];
    this.#loops = this.clients.map((client) => {
      let onAnswer;
      answered.push(new Promise((resolve) => (onAnswer = resolve)));
      return this.#poll(client, onAnswer);
    });
    /** Every client has had one answer: connections are open before any flip is timed. */
    this.started = Promise.all(answered);
  }

  watchFor(body) {
    let resolve;
    const seen = new Promise((r) => (resolve = r));
    this.#watch = { body, resolve };
    return { seen: (ms) => Promise.race([seen, sleep(ms).then(() => null)]) };
  }

  /** From `since` on, a response to a request sent later must come from `body`. */
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
    }
  }

  async #one(client, sentAt) {
    try {
      const { statusCode, body } = await client.request({ path: '/', method: 'GET' });
      const text = await body.text();
      this.responses++;
      if (statusCode !== 200) return void this.failures.push(`status ${statusCode}`);
      const watch = this.#watch;
      if (watch !== null && text === watch.body) {
        this.#watch = null;
        watch.resolve(performance.now());
      }
      if (this.#fresh !== null && sentAt > this.#fresh.since && text !== this.#fresh.body) this.stale++;
    } catch (err) {
      this.failures.push(err.code ?? err.message);
      await sleep(10);
    }
  }
}

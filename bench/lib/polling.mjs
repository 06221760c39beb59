// Keep-alive clients polling the proxy, for bench/switch.mjs: which environment answered, and when.
import { Client } from 'undici';
import { sleep } from './http.mjs';

/** A poll the proxy has not answered in this long fails, so that stopping never waits on a wedged request. */
const POLL_TIMEOUT_MS = 10_000;

/**
 * `count` keep-alive clients sending GET /. Paced (`everyMs` > 0): each sends on its own schedule, one request
 * every `everyMs`, the clients' schedules spread over that period, whether or not the others are answered; each
 * has at most one request out, so a client whose previous request is still out at its turn sends as soon as it is
 * answered (`late` counts those turns). Closed
 * loop (`everyMs` 0): each waits `gapMs` after each answer (0: back to back). Counts
 * every response by body and status, finds the first response from a given environment and the earliest arrival
 * of a request at it, and counts stale ones: responses from the old environment to requests sent after the switch
 * request had been answered (there should be none).
 */
export class Polling {
  #running = true;
  /** @type {Watch | null} */
  #watch = null;
  #fresh = null;
  #loops;
  #nextId = 0;
  /** Ids of the requests sent and not yet answered (nor failed). */
  #inFlight = new Set();

  constructor(url, count, { gapMs = 0, everyMs = 0 } = {}) {
    this.gapMs = gapMs;
    this.everyMs = everyMs;
    this.late = 0;
    this.responses = 0;
    this.failures = [];
    this.stale = 0;
    this.clients = Array.from({ length: count }, () => new Client(url, { pipelining: 1, headersTimeout: POLL_TIMEOUT_MS, bodyTimeout: POLL_TIMEOUT_MS }));
    const answered = [];
    this.#loops = this.clients.map((client, i) => {
      let onAnswer;
      answered.push(new Promise((resolve) => (onAnswer = resolve)));
      return everyMs > 0 ? this.#pollOnSchedule(client, onAnswer, (i * everyMs) / count) : this.#poll(client, onAnswer);
    });
    /** Every client has had one answer: connections are open before any flip is timed. */
    this.started = Promise.all(answered);
  }

  /**
   * Starts a flip to `body`. `seen(ms)` resolves with null when no response from it came within `ms`; else, once
   * every request that was in flight when the first response from it came back has been answered too (or failed),
   * with `{ at, arrivedNs, firstAnsweredArrivedNs }`:
   *   at: performance.now() when the first response from `body` came back here;
   *   arrivedNs: the earliest `x-arrived-ns` (process.hrtime when the request reached the backend) over the
   *     responses from `body` up to then. The request answered first need not be the one that arrived first: the
   *     other pollers' requests that were in flight at that moment may have reached the new backend sooner. Any
   *     request that reached it before the first answered one was in flight then, so waiting for those answers
   *     finds the earliest arrival exactly (among the pollers' requests);
   *   firstAnsweredArrivedNs: the arrival of the request answered first.
   * Both arrivals are null without the header. Until `staleAfter` is called again, no response counts as stale:
   * during a flip both are right.
   */
  watchFor(body) {
    const watch = new Watch(body, () => {
      if (this.#watch === watch) this.#watch = null;
    });
    this.#watch = watch;
    this.#fresh = null;
    return {
      seen: async (ms) => {
        let timer;
        const timeout = new Promise((r) => (timer = setTimeout(() => r(null), ms)));
        const first = await Promise.race([watch.first, timeout]).finally(() => clearTimeout(timer));
        return first === null ? null : watch.settled;
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

  /** Paced: a request every `everyMs` from `offsetMs` on, or at once when the previous answer came late. */
  async #pollOnSchedule(client, onAnswer, offsetMs) {
    let next = performance.now() + offsetMs;
    while (this.#running) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      await this.#one(client, performance.now());
      onAnswer();
      next += this.everyMs;
      if (next < performance.now()) {
        this.late++;
        next = performance.now();
      }
    }
  }

  async #one(client, sentAt) {
    const id = this.#nextId++;
    this.#inFlight.add(id);
    let failed = false;
    try {
      const { statusCode, headers, body } = await client.request({ path: '/', method: 'GET' });
      const text = await body.text();
      this.responses++;
      if (statusCode !== 200) this.failures.push(`status ${statusCode}`);
      else this.#answered(id, text, headers, sentAt);
    } catch (err) {
      this.failures.push(err.code ?? err.message);
      failed = true;
    }
    this.#inFlight.delete(id);
    this.#watch?.done(id);
    if (failed) await sleep(10);
  }

  #answered(id, text, headers, sentAt) {
    if (this.#watch !== null && text === this.#watch.body) this.#watch.answered(id, arrivedNs(headers), this.#inFlight);
    if (this.#fresh !== null && sentAt > this.#fresh.since && text !== this.#fresh.body) this.stale++;
  }
}

/**
 * One flip's watch: `first` resolves at the first response from `body`; `settled` once the requests in flight at
 * that moment are done, with the earliest arrival among the responses from `body` seen until then.
 */
class Watch {
  #resolveFirst;
  #resolveSettled;
  #onSettled;
  #result = null;
  /** Ids still awaited after the first response; null before it. */
  #waiting = null;

  constructor(body, onSettled) {
    this.body = body;
    this.#onSettled = onSettled;
    this.first = new Promise((r) => (this.#resolveFirst = r));
    this.settled = new Promise((r) => (this.#resolveSettled = r));
  }

  answered(id, arrivedNs, inFlight) {
    if (this.#result === null) {
      this.#result = { at: performance.now(), arrivedNs, firstAnsweredArrivedNs: arrivedNs };
      this.#waiting = new Set([...inFlight].filter((other) => other !== id));
      this.#resolveFirst(this.#result);
    } else if (arrivedNs !== null && (this.#result.arrivedNs === null || arrivedNs < this.#result.arrivedNs)) {
      this.#result.arrivedNs = arrivedNs;
    }
  }

  /** Request `id` was answered or failed. */
  done(id) {
    if (this.#waiting === null) return;
    this.#waiting.delete(id);
    if (this.#waiting.size > 0) return;
    this.#waiting = null;
    this.#onSettled();
    this.#resolveSettled(this.#result);
  }
}

/** When the backend saw the request (its `x-arrived-ns`, process.hrtime in ns), or null without the header. */
function arrivedNs(headers) {
  const value = headers['x-arrived-ns'];
  return typeof value === 'string' ? BigInt(value) : null;
}

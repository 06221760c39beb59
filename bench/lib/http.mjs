// Small HTTP helpers for setup and sanity checks. No keep-alive (agent: false), so the bench itself holds no
// sockets open to the contenders between runs.
import { request } from 'node:http';
import { createServer } from 'node:net';

const REQUEST_TIMEOUT_MS = 3_000;
const POLL_MS = 100;

/** One request; resolves with { status, body } or rejects on a socket error or timeout. */
export function httpRequest(url, { method = 'GET', json } = {}) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? null : Buffer.from(JSON.stringify(json));
    const headers = body === null ? {} : { 'content-type': 'application/json', 'content-length': body.length };
    const req = request(url, { method, headers, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `url` until it answers 200, for at most `ms`. */
export async function waitForHttp(url, ms) {
  const deadline = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const { status, body } = await httpRequest(url);
      if (status === 200) return;
      last = `status ${status}: ${body.trim().slice(0, 120)}`;
    } catch (err) {
      last = err.code ?? err.message;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${url} not answering 200 after ${ms} ms (last: ${last})`);
}

/**
 * A port that was free a moment ago, for nginx and HAProxy, which cannot listen on port 0 and report it.
 * Another process could take it in between; on this quiet machine that has not been seen.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

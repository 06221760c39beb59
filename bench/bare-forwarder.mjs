#!/usr/bin/env node
// The fastest Node forwarder design in shared/PERF-NOTES.md, kept bare on purpose: it is the yardstick that
// tells how much of cutover's cost is its own (routing, headers, stats, retries) and how much is Node's.
//   node:http server → one undici Pool → pool.dispatch() with a legacy handler → res.writeHead/write/end,
//   pausing the upstream while the client socket is full, aborting it when the client goes away.
// Usage: node bench/bare-forwarder.mjs --target http://127.0.0.1:8081 [--port 0] [--pool 128] [--timing]
//   --pool: upstream connections (the bench's contender uses the default, 128, as cutover does).
//   --timing: on exit, print the time from each request's 'request' event to its response's 'finish', and the
//   event loop's delay: what the forwarder itself adds to a latency the load generator reports.
import { createServer } from 'node:http';
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: { target: { type: 'string' }, port: { type: 'string', default: '0' }, pool: { type: 'string', default: '128' }, timing: { type: 'boolean' } },
});
if (values.target === undefined) {
  console.error('bare-forwarder: --target http://host:port is required');
  process.exit(2);
}

// PERF-NOTES: pool size 50/128/unlimited and pipelining > 1 made no clear difference; 128 matches cutover.
const pool = new Pool(values.target, { connections: Number(values.pool), pipelining: 1 });

// RFC 9110 §7.6.1: connection-specific fields describe one hop and must not be forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** One request's trip upstream, as an undici legacy dispatch handler. */
class Forward {
  constructor(res) {
    this.res = res;
    this.abort = null;
    this.resume = null;
    this.done = false;
    // PERF-NOTES: a forwarder that does not abort upstream when the client leaves wedges its pool.
    res.on('close', () => {
      if (!this.done) this.abort?.(new Error('client went away'));
      this.done = true;
    });
  }

  onConnect(abort) {
    if (this.done) abort(new Error('client went away'));
    this.abort = abort;
  }

  onHeaders(statusCode, rawHeaders, resume, statusText) {
    if (statusCode < 200) return true;
    this.resume = resume;
    this.res.writeHead(statusCode, statusText, forwardable(rawHeaders));
    return true;
  }

  onData(chunk) {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume);
    return false;
  }

  onComplete() {
    this.done = true;
    this.res.end();
  }

  onError(err) {
    const wasDone = this.done;
    this.done = true;
    if (wasDone) return;
    if (this.res.headersSent) return void this.res.destroy(err);
    this.res.writeHead(502, { 'content-type': 'text/plain' });
    this.res.end(`bad gateway: ${err.code ?? err.message}\n`);
  }
}

/** Raw header pairs (Buffers or strings) minus hop-by-hop fields, as the flat list writeHead and undici accept. */
function forwardable(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1].toString('latin1'));
  }
  return out;
}

const timing = values.timing ? { inside: createHistogram(), loop: monitorEventLoopDelay({ resolution: 1 }) } : null;
timing?.loop.enable();

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (timing !== null) {
    const start = process.hrtime.bigint();
    res.once('finish', () => timing.inside.record(process.hrtime.bigint() - start));
  }
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  pool.dispatch(
    { path: req.url, method: req.method, headers: forwardable(req.rawHeaders), body: hasBody ? req : null },
    new Forward(res),
  );
});

server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`bare-forwarder: listening on http://127.0.0.1:${server.address().port}`);
});
process.once('SIGTERM', () => {
  if (timing !== null) console.log(`timing: inside ${describe(timing.inside)}; event loop delay ${describe(timing.loop)}`);
  server.close();
  server.closeAllConnections();
  pool.destroy().finally(() => process.exit(0));
});

/** p50, p99 and max of a perf_hooks histogram (nanoseconds), in ms. */
function describe(histogram) {
  const ms = (ns) => (Number(ns) / 1e6).toFixed(2);
  return `p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms (${histogram.count} samples)`;
}

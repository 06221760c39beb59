// Preloaded into `cutover serve` by bench:switch when BENCH_SWITCH_TRACE=1 (node --import): times each flip inside
// cutover, on node:diagnostics_channel, and appends one JSON line per flip to $BENCH_SWITCH_TRACE_FILE. One process
// only (`workers: 1`): with workers the data path is in other processes than the admin API. Times are ms after the
// admin request's arrival in cutover:
//   applied: the new route table applied (cutover's own channel, src/proxy/data-path.ts); answered: its response
//   finished; read: the first data request read after it; dispatched: the first request
//   handed to the new environment's pool; connected: a new upstream connection (or a spare opened ahead) given to a
//   request meanwhile (else absent); written: that request's head written upstream. `fresh`: it went on a connection
//   never used before. The upstream events are cutover's own channels (src/pool/upstream-channels.ts).
import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_SWITCH_TRACE_FILE;
/** Kept: Node 20 can drop the subscriptions of a channel object nothing references. */
const channels = [];

if (file !== undefined && process.argv.includes('serve')) trace(file);

function subscribe(name, listener) {
  const channel = diagnostics.channel(name);
  channel.subscribe(listener);
  channels.push(channel);
}

function trace(out) {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  /** The flip being traced: its admin request's arrival and the times seen so far, after it. */
  let flip = null;
  /** The origin data requests went to before the flip. */
  let lastOrigin = null;
  const since = () => now() - flip.arrived;

  subscribe('http.server.request.start', ({ request, response }) => {
    if (request.method === 'POST' && /^\/api\/apps\/[^/]+\/(switch|rollback)$/.test(request.url ?? '')) {
      const current = { arrived: now() };
      flip = current;
      response.once('finish', () => (current.answered = now() - current.arrived));
    } else if (flip !== null && flip.read === undefined && !request.url?.startsWith('/api/')) {
      flip.read = since();
    }
  });
  subscribe('cutover:route-table:applied', () => {
    if (flip !== null) flip.applied ??= since();
  });
  subscribe('cutover:upstream:dispatch', ({ origin, path }) => {
    if (path.startsWith('/healthz')) return;
    if (flip !== null && flip.dispatched === undefined && lastOrigin !== null && origin !== lastOrigin) {
      flip.dispatched = since();
      flip.origin = origin;
    }
    lastOrigin = origin;
  });
  subscribe('cutover:upstream:connected', () => {
    if (flip?.dispatched !== undefined && flip.written === undefined) flip.connected ??= since();
  });
  subscribe('cutover:upstream:written', ({ origin, fresh }) => {
    if (flip?.origin !== origin || flip.written !== undefined) return;
    flip.written = since();
    flip.fresh = fresh;
    const done = flip;
    // The answer may finish after the first write upstream.
    setTimeout(() => appendFileSync(out, `${JSON.stringify(done)}\n`), 50).unref();
  });
}

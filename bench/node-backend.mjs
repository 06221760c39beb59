#!/usr/bin/env node
// The backend used when nginx is not installed: the same fixed small body as the nginx backend.
// It is slower than nginx, so with it the "direct" ceiling is lower and proxies look closer to it.
// Also the two environments of bench/switch.mjs, each answering its own body. Only those pass --arrival-header:
// each response then also carries `x-arrived-ns`, when its request arrived (process.hrtime, a monotonic clock
// every process on the machine shares), so the bench can tell when requests were first routed to the new
// environment. The main bench's backend (and so its `direct` row) answers without it.
// Usage: node bench/node-backend.mjs [--port 0] [--body hello] [--arrival-header]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, body: { type: 'string', default: 'hello' }, 'arrival-header': { type: 'boolean', default: false } },
});
const BODY = Buffer.from(values.body);
const OK = Buffer.from('ok');
const ARRIVAL_HEADER = values['arrival-header'];

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const body = req.url === '/healthz' ? OK : BODY;
  const headers = { 'content-type': 'text/plain', 'content-length': body.length };
  if (ARRIVAL_HEADER) headers['x-arrived-ns'] = String(process.hrtime.bigint());
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`node-backend: listening on http://127.0.0.1:${server.address().port}`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});

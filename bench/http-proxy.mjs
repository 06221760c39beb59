#!/usr/bin/env node
// The classic Node proxy (http-proxy on http.request) with a keep-alive agent: the design most Node proxies
// in the wild still use, measured in PERF-NOTES at 0.52–0.58 of the undici tier.
// Usage: node bench/http-proxy.mjs --target http://127.0.0.1:8081 [--port 0]
import { Agent, createServer } from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const { values } = parseArgs({ options: { target: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (values.target === undefined) {
  console.error('http-proxy: --target http://host:port is required');
  process.exit(2);
}

// Without an agent http-proxy sends `Connection: close` upstream, i.e. a new TCP connection per request.
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: values.target, agent });
proxy.on('error', (err, _req, res) => {
  if (res.headersSent) return void res.destroy(err);
  res.writeHead(502, { 'content-type': 'text/plain' });
  res.end(`bad gateway: ${err.code ?? err.message}\n`);
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => proxy.web(req, res));
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`http-proxy: listening on http://127.0.0.1:${server.address().port}`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
});

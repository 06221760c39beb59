#!/usr/bin/env node
// A tiny app to deploy behind cutover: answers every request with its version, and /healthz with 200.
// PORT (default 3000) and VERSION (default v1) come from the environment.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const version = process.env.VERSION ?? 'v1';

createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from ${version}\n`);
}).listen(port, '127.0.0.1', () => console.log(`hello-app ${version} on http://127.0.0.1:${port}`));

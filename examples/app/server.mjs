#!/usr/bin/env node
// The demo app for cutover's process driver. No dependencies. cutover starts it with PORT, CUTOVER_VERSION,
// CUTOVER_ENV and CUTOVER_INSTANCE set; run by hand: `PORT=3001 VERSION=v1 node examples/app/server.mjs`.
//
//   GET /         a small page (HTML for browsers, text otherwise) with the version and the environment's colour
//   GET /healthz  200 "ok" (503 with NEVER_HEALTHY=1)
//   GET /version  {"version", "env", "instance"}
//
// Misbehaviour on demand, for the demo: FAIL_RATE=0.2 answers that share of requests with 500, SLOW_MS=300 adds
// that much latency. Neither touches /healthz or /version, so a bad version passes its gates and only the
// post-switch analysis of real traffic can catch it. SIGTERM closes the server and exits 0.
//
// A release folder (the process driver's `cwd`, like examples/releases/v3) may hold a release.json with the same
// settings, so versions can differ without changing cutover's config: { "message", "colour", "failRate", "slowMs",
// "neverHealthy" }. The environment wins over the file.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const release = existsSync('release.json') ? JSON.parse(readFileSync('release.json', 'utf8')) : {};
const port = Number(process.env.PORT ?? 3000);
const version = process.env.CUTOVER_VERSION ?? process.env.VERSION ?? 'v1';
const env = process.env.CUTOVER_ENV ?? 'blue';
const instance = process.env.CUTOVER_INSTANCE ?? '0';
const failRate = clamp(Number(process.env.FAIL_RATE ?? release.failRate ?? 0), 0, 1);
const slowMs = Math.max(0, Number(process.env.SLOW_MS ?? release.slowMs ?? 0) || 0);
const neverHealthy = (process.env.NEVER_HEALTHY ?? (release.neverHealthy ? '1' : '0')) === '1';
const message = release.message ?? '';
const COLOURS = { blue: '#2563eb', green: '#16a34a' };

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://app').pathname;
  if (path === '/healthz') return send(res, neverHealthy ? 503 : 200, 'text/plain', neverHealthy ? 'never healthy\n' : 'ok\n');
  if (path === '/version') return send(res, 200, 'application/json', JSON.stringify({ version, env, instance }) + '\n');
  setTimeout(() => page(req, res, path), slowMs);
});

function page(req, res, path) {
  if (Math.random() < failRate) return send(res, 500, 'text/plain', `error from ${version} (FAIL_RATE=${failRate})\n`);
  if (path !== '/') return send(res, 404, 'text/plain', 'not found\n');
  if (!(req.headers.accept ?? '').includes('text/html')) return send(res, 200, 'text/plain', `hello from ${version} on ${env}#${instance}${message ? `: ${message}` : ''}\n`);
  const colour = release.colour ?? COLOURS[env] ?? '#6b7280';
  send(res, 200, 'text/html; charset=utf-8', `<!doctype html>
<title>${escape(version)}</title>
<body style="margin:0;font:24px system-ui;display:grid;place-items:center;height:100vh;background:${colour};color:white">
<main style="text-align:center"><h1 style="font-size:64px;margin:0">${escape(version)}</h1><p>${escape(message)}</p><p>${escape(env)} #${escape(instance)}</p></main>
`);
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-version': version }).end(body);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function clamp(n, lo, hi) {
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}

process.on('SIGTERM', () => {
  console.log(`${version} ${env}#${instance}: SIGTERM, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
});

server.listen(port, '127.0.0.1', () => console.log(`${version} ${env}#${instance} listening on http://127.0.0.1:${port}`));

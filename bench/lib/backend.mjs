// The backend every contender forwards to: nginx with one worker when installed, else a Node http server.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, httpRequest, waitForHttp } from './http.mjs';
import { nginxBackendConf } from './server-configs.mjs';

const READY_MS = 10_000;
export const EXPECTED_BODY = 'hello';

/** @returns {Promise<{ kind: 'nginx'|'node', url: string, port: number, description: string }>} */
export async function startBackend(ctx, forced) {
  const kind = forced ?? (ctx.tools.nginx === null ? 'node' : 'nginx');
  if (kind === 'nginx' && ctx.tools.nginx === null) throw new Error('--backend nginx asked for, but nginx is not installed');
  const why = forced === 'node' ? 'chosen with --backend node' : 'nginx is not installed';
  const backend = kind === 'nginx' ? await startNginxBackend(ctx) : await startNodeBackend(ctx, why);
  await waitForHttp(`${backend.url}/healthz`, READY_MS);
  const { status, body } = await httpRequest(`${backend.url}/`);
  if (status !== 200 || body !== EXPECTED_BODY) throw new Error(`backend answered ${status} "${body}", not 200 "${EXPECTED_BODY}"`);
  return backend;
}

/** Starts nginx with a config under its own prefix in the temp dir; returns once it has been started. */
export async function startNginx(ctx, name, confText) {
  const prefix = join(ctx.tmp, name);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, confText(prefix));
  // -e: the Debian build opens /var/log/nginx/error.log before it reads the config unless told otherwise.
  return ctx.procs.start(name, ctx.tools.nginx.file, ['-p', `${prefix}/`, '-e', `${prefix}/error.log`, '-c', conf], {
    cpu: name === 'backend' ? ctx.cpu.backend : ctx.cpu.proxy,
  });
}

async function startNginxBackend(ctx) {
  const port = await freePort();
  await startNginx(ctx, 'backend', (prefix) => nginxBackendConf(prefix, port));
  const url = `http://127.0.0.1:${port}`;
  return { kind: 'nginx', url, port, description: `nginx (${ctx.tools.nginx.version}), 1 worker, return 200 "hello"` };
}

async function startNodeBackend(ctx, why) {
  const { url, port } = await startNodeServer(ctx, 'backend', EXPECTED_BODY);
  return { kind: 'node', url, port, description: `Node ${process.version} http server (${why})` };
}

/**
 * bench/node-backend.mjs on the backend's CPU, answering `body` (and `ok` on /healthz); resolves once listening.
 * `arrivalHeader`: every response also carries `x-arrived-ns` (for bench/switch.mjs only; the main bench's backend
 * answers without it, like the nginx one).
 */
export async function startNodeServer(ctx, name, body, { arrivalHeader = false } = {}) {
  const args = [join(ctx.benchDir, 'node-backend.mjs'), '--body', body, ...(arrivalHeader ? ['--arrival-header'] : [])];
  const child = ctx.procs.start(name, process.execPath, args, { cpu: ctx.cpu.backend });
  const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/, READY_MS);
  return { url, port: Number(new URL(url).port), child };
}

// The contenders, in the order they take turns. Each `start` resolves, once it forwards to the backend, with
// { url, child }: the URL to load and the process serving it (null for direct), watched so that a contender
// that dies mid-bench is reported as such. ctx.procs owns every process and stops them all at the end.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx } from './backend.mjs';
import { deploy, startCutoverServe } from './cutover.mjs';
import { freePort, waitForHttp } from './http.mjs';
import { haproxyConf, nginxProxyConf } from './server-configs.mjs';

const READY_MS = 15_000;

export const CONTENDERS = Object.freeze([
  { name: 'direct', what: 'no proxy: the load generator straight to the backend (the ceiling)', start: async (ctx) => ({ url: ctx.backend.url, child: null }) },
  { name: 'nginx', what: 'nginx, 1 worker, upstream keepalive 64', needs: 'nginx', start: startNginxProxy },
  { name: 'haproxy', what: 'HAProxy, nbthread 1, http-reuse always', needs: 'haproxy', start: startHaproxy },
  { name: 'bare-undici', what: 'bench/bare-forwarder.mjs: node:http + undici Pool.dispatch', start: (ctx) => startNodeScript(ctx, 'bare-undici', 'bare-forwarder.mjs') },
  { name: 'http-proxy', what: 'bench/http-proxy.mjs: http-proxy 1.18 + keep-alive Agent', start: (ctx) => startNodeScript(ctx, 'http-proxy', 'http-proxy.mjs') },
  { name: 'cutover', what: 'cutover serve, one app, backend deployed as live', start: startCutover },
  // Only when named (`--only`, `--pair`): a change measured against the code before it, e.g.
  // `git worktree add /tmp/before HEAD~1` and BENCH_CUTOVER_B=/tmp/before npm run bench:pair -- --pair cutover-b,cutover.
  { name: 'cutover-b', what: 'the same, from the checkout in BENCH_CUTOVER_B', optIn: true, start: startCutoverB },
]);

/** The contenders a run takes when none are named: all but the opt-in ones. */
export const DEFAULT_CONTENDERS = Object.freeze(CONTENDERS.filter((c) => c.optIn !== true));

async function startNginxProxy(ctx) {
  const port = await freePort();
  const child = await startNginx(ctx, 'nginx', (prefix) => nginxProxyConf(prefix, port, ctx.backend.port));
  return readyAt(`http://127.0.0.1:${port}`, child);
}

async function startHaproxy(ctx) {
  const port = await freePort();
  const conf = join(ctx.tmp, 'haproxy.cfg');
  writeFileSync(conf, haproxyConf(port, ctx.backend.port));
  // -db: stay in the foreground, so the process we track is the one serving.
  const child = ctx.procs.start('haproxy', ctx.tools.haproxy.file, ['-db', '-f', conf], { cpu: ctx.cpu.proxy });
  return readyAt(`http://127.0.0.1:${port}`, child);
}

async function startNodeScript(ctx, name, script) {
  const child = ctx.procs.start(name, process.execPath, [join(ctx.benchDir, script), '--target', ctx.backend.url], { cpu: ctx.cpu.proxy });
  const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/, READY_MS);
  return readyAt(url, child);
}

/** `cutover serve` with one data-path worker (goal 1 is "on one core"), the backend deployed as live. */
async function startCutover(ctx) {
  const { child, proxyUrl, adminUrl } = await startCutoverServe(ctx, { extraYaml: 'workers: 1' });
  await deploy(adminUrl, { version: 'bench', targets: [ctx.backend.url] });
  return readyAt(proxyUrl, child);
}

/** `cutover` from another checkout (BENCH_CUTOVER_B), built there if its dist/ is stale. */
async function startCutoverB(ctx) {
  const root = process.env.BENCH_CUTOVER_B;
  if (root === undefined || root === '') throw new Error('cutover-b runs the checkout named by BENCH_CUTOVER_B, which is not set');
  const { child, proxyUrl, adminUrl } = await startCutoverServe(ctx, { name: 'cutover-b', root, extraYaml: 'workers: 1' });
  await deploy(adminUrl, { version: 'bench', targets: [ctx.backend.url] });
  return readyAt(proxyUrl, child);
}

async function readyAt(url, child) {
  await waitForHttp(`${url}/`, READY_MS);
  return { url, child };
}

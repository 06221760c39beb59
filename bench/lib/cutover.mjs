// Starting `cutover serve` and deploying through its admin API, for every bench script that measures cutover.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildState } from '../../bin/sources.js';
import { httpRequest, sleep } from './http.mjs';

const READY_MS = 15_000;
const DEPLOY_MS = 30_000;
const POLL_MS = 100;

/**
 * `cutover serve` on ports 0 with one app, `web`, on the proxy's CPU. `extraYaml` adds top-level keys (workers,
 * limits, timeouts); `prefix` is a command that execs the rest (e.g. prlimit), so the pid stays cutover's;
 * `nodeArgs` and `env` go to cutover's node; `root`: the checkout to run (default this one).
 * BENCH_CUTOVER_NODE_ARGS adds options to cutover's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 * @returns {Promise<{ child, proxyUrl: string, adminUrl: string }>}
 */
export async function startCutoverServe(ctx, { name = 'cutover', root = ctx.root, extraYaml = '', prefix = [], nodeArgs = [], env = {} } = {}) {
  ensureBuild(root);
  const config = join(ctx.tmp, `${name}.yaml`);
  writeFileSync(config, cutoverYaml(join(ctx.tmp, `${name}.db`), extraYaml));
  const fromEnv = (process.env.BENCH_CUTOVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const [command, ...args] = [...prefix, process.execPath, ...fromEnv, ...nodeArgs, join(root, 'bin', 'cutover.js'), 'serve', '-c', config];
  const child = ctx.procs.start(name, command, args, { cpu: ctx.cpu.proxy, cwd: root, env: { CUTOVER_LOG_LEVEL: 'warn', ...env } });
  const [, proxyUrl, adminUrl] = await child.waitFor(/proxy on (http:\/\/[^\s,]+), admin API on (http:\/\/\S+)/, READY_MS);
  return { child, proxyUrl, adminUrl };
}

/**
 * Deploys `targets` as `version` of app web and waits until it is live (`switchNow`) or ready and waiting for a
 * switch (`switchNow: false`, i.e. `cutover deploy --no-switch`).
 */
export async function deploy(adminUrl, { version, targets, switchNow = true }) {
  const created = await httpRequest(`${adminUrl}/api/apps/web/deployments`, {
    method: 'POST',
    json: { version, targets, switch: switchNow },
  });
  if (created.status >= 300) throw new Error(`cutover refused the deployment: ${created.status} ${created.body.trim()}`);
  const done = switchNow
    ? (app) => app.live !== null && app.envs[app.live].version === version
    : (app) => app.deployment?.version === version && app.deployment.phase === 'ready';
  const deadline = Date.now() + DEPLOY_MS;
  while (Date.now() < deadline) {
    const { status, body } = await httpRequest(`${adminUrl}/api/apps/web`);
    if (status === 200 && done(JSON.parse(body))) return;
    await sleep(POLL_MS);
  }
  throw new Error(`cutover: ${version} was not ${switchNow ? 'live' : 'ready'} ${DEPLOY_MS} ms after the deployment`);
}

/**
 * bin/cutover.js runs its TypeScript sources through tsx when dist/ is older than them: a bench would then
 * measure tsx's loader thread on the proxy's core too. A stale or missing build is built first, and a build
 * that cannot be made stops the bench.
 */
function ensureBuild(root) {
  if (buildState(root).fresh) return;
  console.error('[bench] dist/ is older than src/: building it first (node scripts/build.mjs)');
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0 || !buildState(root).fresh) throw new Error('the build failed; cutover would run through tsx');
}

function cutoverYaml(dbFile, extraYaml) {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: { sqlite: ${dbFile} }
${extraYaml}
apps:
  web:
    health: { path: /healthz, interval: 500ms, healthy: 1 }
    drain: 1s
`;
}
